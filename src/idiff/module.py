"""The one LightningModule: a latent-diffusion UNet conditioned on a source image and an instruction.

Task-agnostic by construction: it sees (source, target, instruction) batches when training and (source,
instruction) requests when generating; what the images mean is the task plugin's business
(:mod:`idiff.evaluation` hands generated images to the task's decoder and evaluator).

Training (PAPER.md "Model and training"): noise the target latent with the DDPM schedule, concatenate the source
latent, predict the noise (or v), drop conditions for classifier-free guidance, keep an EMA of the UNet only.
``model.residual`` (off for SD, on for the tiny embedded default) diffuses the *edit* ``target - source`` instead
of the target, so a small model need not regenerate every pixel of the source, multiplied by
``model.residual_scale`` so that the edit has about unit variance as the noise schedule assumes (docs/architecture.md).
``model.preconditioning: edm`` (an option for x0-prediction) scales the UNet's input and output as EDM does, so that
its clean-latent estimate is trained at every noise level (:mod:`idiff.diffusion.preconditioning`).
``stage.text_to_image`` (stage 1, pretraining adaptation) trains a plain text-to-image UNet: no source latent.
"""

from __future__ import annotations

from typing import Any

import hydra.utils
import lightning as L
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from diffusers.training_utils import compute_snr
from lightning.pytorch.plugins.precision import MixedPrecision
from lightning.pytorch.utilities import GradClipAlgorithmType
from torch import nn

from idiff.codecs import build_codec
from idiff.diffusion.conditioning import ConditioningDropout
from idiff.diffusion.ema import LerpEMA
from idiff.diffusion.lr_schedule import build_lr_scheduler, check_lr_scheduler
from idiff.diffusion.preconditioning import build_preconditioning, vp_sigma
from idiff.diffusion.sampler import GuidedSampler, build_inference_scheduler
from idiff.diffusion.source_filter import SourceFilter, build_source_filter
from idiff.diffusion.training_noise import training_draws
from idiff.diffusion.unet import build_unet, speed_up_unet, unet_conditioning
from idiff.diffusion.wise_ft import START_WEIGHTS_KEY, check_alpha, interpolate, start_weights
from idiff.errors import ConfigError, TrainingError, config_flag
from idiff.pretrained import PretrainedSource
from idiff.text import build_text_encoder, build_tokenizer, encode_instructions, instruction_mask, tokenize_instructions

__all__ = ["DiffusionModule", "min_snr_weights"]


def min_snr_weights(scheduler: DDPMScheduler, timesteps: torch.Tensor, gamma: float) -> torch.Tensor:
    """Min-SNR-gamma loss weights (Hang et al., ICCV 2023), as in diffusers' training examples.

    The per-timestep weight is min(SNR, gamma) on the x0 error, expressed for the model's objective: divided by
    SNR for epsilon-prediction, by SNR + 1 for v-prediction, unchanged for sample (x0) prediction.
    """
    snr = compute_snr(scheduler, timesteps)
    weights = torch.clamp(snr, max=gamma)
    match scheduler.config.prediction_type:
        case "v_prediction":
            return weights / (snr + 1)
        case "sample":
            return weights
        case _:
            return weights / snr


class DiffusionModule(L.LightningModule):
    """Instruction-guided image editing by latent diffusion.

    Args:
        model: the ``model`` config group (codec, UNet architecture, text encoder, noise schedule).
        stage: the ``stage`` config group (optimizer, EMA decay, conditioning dropout).
        sampler: the ``sampler`` config group (scheduler, steps, guidance formula).
        seed: seeds the random initialisation of components built from scratch.
    """

    def __init__(self, model: dict[str, Any], stage: dict[str, Any], sampler: dict[str, Any], seed: int = 0) -> None:
        super().__init__()
        self.save_hyperparameters()
        pretrained = PretrainedSource.from_model_config(model)  # a diffusers folder or an original single file
        self.codec = build_codec(pretrained_path=pretrained, **model["codec"])
        self.tokenizer = build_tokenizer(pretrained)
        self.text_encoder = build_text_encoder(pretrained, seed=seed, **model.get("text_encoder", {}))
        self.train_text_encoder = config_flag(stage, "train_text_encoder", "stage", False)
        self.text_encoder.requires_grad_(self.train_text_encoder)
        self.text_to_image = config_flag(stage, "text_to_image", "stage", False)
        self.unet = build_unet(
            in_channels=self.codec.latent_channels * (1 if self.text_to_image else 2),
            latent_channels=self.codec.latent_channels,
            cross_attention_dim=self.text_encoder.config.hidden_size,
            sample_size=model["resolution"] // self.codec.downsample_factor,
            pretrained_path=pretrained,
            architecture=model.get("unet"),
            seed=seed,
            zero_init_residuals=config_flag(model, "zero_init_residuals", "model", False),
            output_norm=config_flag(model, "output_norm", "model", True),
        )
        if config_flag(stage, "gradient_checkpointing", "stage", False):
            self.unet.enable_gradient_checkpointing()
        speed_up_unet(self.unet, model.get("channels_last", False), model.get("compile", False))
        self.noise_scheduler = DDPMScheduler(**model["noise_schedule"])
        self.preconditioning = build_preconditioning(model, self.noise_scheduler.config.prediction_type)
        if self.preconditioning is not None and stage.get("snr_gamma"):
            raise ConfigError(
                f"stage.snr_gamma={stage['snr_gamma']} with model.preconditioning=edm: choose one loss weighting "
                "(EDM's own is 1 / c_out^2); set stage.snr_gamma=null, or model.preconditioning=null"
            )
        check_lr_scheduler(stage.get("lr_scheduler"))  # a bad schedule fails here, before any data is prepared
        self.dropout = ConditioningDropout(**stage["dropout"])
        self.residual = config_flag(model, "residual", "model", False) and not self.text_to_image
        self.source_filter = build_source_filter(
            model, self.codec, self.text_encoder.config.hidden_size, self.noise_scheduler.config.prediction_type,
            self.residual,
        )
        self.ema = LerpEMA(self.ema_parameters(), decay=stage["ema_decay"]) if stage.get("ema_decay") else None
        self.residual_scale = float(model.get("residual_scale", 1.0))
        if self.residual_scale <= 0:
            raise ConfigError(f"model.residual_scale={self.residual_scale}: must be > 0 (1.0: the edit as it is)")
        self.mask_padding = config_flag(model, "mask_padding", "model", False)
        # with the padding masked out, encode each batch only up to its longest instruction (exact: text.py);
        # not where a class embedding reads the last (padding) position's state
        class_embedding = getattr(self.unet.config, "class_embed_type", None) == "projection"
        self.trim_padding = self.mask_padding and not class_embedding
        self.wise_ft = check_alpha(stage.get("wise_ft"), "stage.wise_ft")
        self.wise_ft_start: dict[str, torch.Tensor] | None = None  # the fit's start weights (keep_start_weights)

    def ema_parameters(self) -> list[nn.Parameter]:
        """What the EMA averages: the UNet's parameters first (so copying the EMA into the UNet alone, as
        ``idiff.checkpoints.ema_unet`` does, takes their prefix), then those of ``model.source_filter`` if any."""
        extra = [] if self.source_filter is None else list(self.source_filter.parameters())
        return [*self.unet.parameters(), *extra]

    # ----------------------------------------------------------------------------------------------- conditioning
    def to_diffused(self, target_latents: torch.Tensor, source_latents: torch.Tensor | None) -> torch.Tensor:
        """What the diffusion generates for a target: the target latent, or with ``model.residual`` the scaled edit."""
        if not self.residual:
            return target_latents
        return (target_latents - source_latents * self.codec.scaling_factor) * self.residual_scale

    def from_diffused(self, latents: torch.Tensor, source_latents: torch.Tensor | None) -> torch.Tensor:
        """The target latent from generated ``latents`` (the inverse of :meth:`to_diffused`)."""
        if not self.residual:
            return latents
        return latents / self.residual_scale + source_latents * self.codec.scaling_factor

    def encode_text(self, instructions: list[str]) -> torch.Tensor:
        """Instruction embeddings (B, 77, D), padded to the CLIP context."""
        return encode_instructions(self.tokenizer, self.text_encoder, instructions, self.device)

    def text_mask(self, instructions: list[str]) -> torch.Tensor | None:
        """Cross-attention mask (B, 77) of the instructions' own tokens with ``model.mask_padding``, else None."""
        return instruction_mask(self.tokenizer, instructions, self.device) if self.mask_padding else None

    def instruction_states(
        self, instructions: list[str], dropped: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Token states (B + 1, L, D) of the instructions and, last, the empty one, with the mask of their own tokens
        (B + 1, L), from one text-encoder call. With ``dropped`` (B,), conditioning dropout in training: B rows, those
        where it is True holding the empty instruction's. L is 77, or the longest instruction's length where the
        padding is masked out (``model.mask_padding``) and no class embedding reads its last position: the same UNet
        output (:func:`idiff.text.tokenize_instructions`)."""
        ids, mask = tokenize_instructions(self.tokenizer, [*instructions, ""], trim=self.trim_padding)
        ids, mask = ids.to(self.device), mask.to(self.device)
        if dropped is not None:
            keep = ~dropped[:, None]
            ids, mask = torch.where(keep, ids[:-1], ids[-1:]), torch.where(keep, mask[:-1], mask[-1:])
        return self.text_encoder(ids)[0], mask

    # --------------------------------------------------------------------------------------------------- training
    def diffusion_loss(
        self, source: torch.Tensor, target: torch.Tensor, instructions: list[str], draws: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Noise-prediction loss for one batch of images in [-1, 1].

        ``draws`` (one draw number per sample, ``batch["draw"]``) keys each sample's noise, timestep and dropout.
        """
        target_latents = self.codec.encode_target(target)
        source_latents = None if self.text_to_image else self.codec.encode_source(source)
        target_latents = self.to_diffused(target_latents, source_latents)
        random = training_draws(
            target_latents.shape, self.noise_scheduler.config.num_train_timesteps, self.dropout, self.device,
            target_latents.dtype, self.hparams["seed"], draws,
        )
        drop_text, noise, timesteps = random.drop_text, random.noise, random.timesteps
        text, tokens = self.instruction_states(instructions, drop_text)
        noisy = self.noise_scheduler.add_noise(target_latents, noise, timesteps)
        unet_input = noisy
        if self.preconditioning is not None:
            sigma = vp_sigma(self.noise_scheduler, timesteps)
            unet_input = self.preconditioning.network_input(noisy, sigma)
        if source_latents is not None:
            source_latents = source_latents * (~random.drop_image).to(source_latents.dtype)[:, None, None, None]
            unet_input = torch.cat([unet_input, source_latents], 1)
        mask = tokens if self.mask_padding else None
        prediction = self.unet(unet_input, timesteps, **unet_conditioning(self.unet, text, mask)).sample
        if self.source_filter is not None:
            pooled = SourceFilter.pool(text, tokens)
            prediction = prediction + self.residual_scale * self.source_filter(source_latents, pooled)
        if self.preconditioning is not None:
            prediction = self.preconditioning.clean_estimate(prediction, noisy, sigma)
        match self.noise_scheduler.config.prediction_type:
            case "epsilon":
                objective = noise
            case "v_prediction":
                objective = self.noise_scheduler.get_velocity(target_latents, noise, timesteps)
            case "sample":
                objective = target_latents
            case other:
                raise ValueError(
                    f"model.noise_schedule.prediction_type: {other!r}; allowed: epsilon, v_prediction, sample"
                )
        loss = F.mse_loss(prediction.float(), objective.float(), reduction="none").mean(dim=(1, 2, 3))
        snr_gamma = self.hparams["stage"].get("snr_gamma")
        if self.preconditioning is not None:
            loss = loss * self.preconditioning.loss_weights(sigma)
        elif snr_gamma:
            loss = loss * min_snr_weights(self.noise_scheduler, timesteps, snr_gamma)
        return loss.mean()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.diffusion_loss(batch["source"], batch["target"], batch["instruction"], batch.get("draw"))
        if not torch.isfinite(loss):
            first = batch["instruction"][0] if batch["instruction"] else ""
            raise TrainingError(
                f"training loss is {loss.item()} at global step {self.global_step} (batch {batch_idx} of the epoch, "
                f"first instruction {first!r}); the weights of this step were not updated and the last checkpoint "
                "is intact. Lower stage.optimizer.lr, or check the data of that batch"
            )
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["source"].shape[0], sync_dist=True)
        return loss

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        super().optimizer_step(*args, **kwargs)
        # The EMA follows each optimizer step here, not in on_train_batch_end: callbacks' on_train_batch_end (the
        # step checkpoint) runs before the module's, and a checkpoint must hold the EMA of the weights it holds.
        if self.ema is not None:
            self.ema.step(self.ema_parameters())

    def on_fit_start(self) -> None:
        if self.ema is not None:
            self.ema.to(self.device)

    def configure_optimizers(self) -> torch.optim.Optimizer | dict[str, Any]:
        params = [p for p in self.parameters() if p.requires_grad]
        optimizer = dict(self.hparams["stage"]["optimizer"])
        if optimizer.get("fused") and str(getattr(self._trainer, "precision", "")) == "16-mixed":
            # fp16's grad scaler unscales before clipping, which an optimizer that unscales in step() forbids
            optimizer["fused"] = False
        optimizer = hydra.utils.instantiate(optimizer, params=params)
        schedule = self.hparams["stage"].get("lr_scheduler")
        if check_lr_scheduler(schedule)["name"] == "constant":  # the paper's: no scheduler at all
            return optimizer
        scheduler = build_lr_scheduler(optimizer, schedule, self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Clip as Lightning does, and also for a fused optimizer under ``bf16-mixed``.

        Lightning's mixed-precision plugin refuses to clip for any optimizer that unscales in ``step()`` (the fused
        AdamW), even with bf16, which keeps no grad scaler: there the gradients are already unscaled, so the plugin's
        own norm clipping (``clip_grad_by_norm``) is called past that check (BENCHMARKS.md, "bf16 on the CPU").
        """
        precision = self.trainer.precision_plugin
        if (
            gradient_clip_val
            and isinstance(precision, MixedPrecision)
            and precision.scaler is None
            and gradient_clip_algorithm in (None, GradClipAlgorithmType.NORM)
        ):
            precision.clip_grad_by_norm(optimizer, gradient_clip_val)
            return
        super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.ema is not None:
            checkpoint["ema"] = self.ema.state_dict()
        if self.wise_ft_start is not None:
            checkpoint[START_WEIGHTS_KEY] = self.wise_ft_start

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.ema is not None and "ema" in checkpoint:
            self.ema.load_state_dict(checkpoint["ema"])
        self.wise_ft_start = checkpoint.get(START_WEIGHTS_KEY)
        if self.wise_ft is not None and self.wise_ft_start is None:
            raise ConfigError(
                f"stage.wise_ft={self.wise_ft}: this checkpoint keeps no start weights to average with (its run "
                "had stage.wise_ft=null); resume it with stage.wise_ft=null, or start a new run from it with "
                "init_weights=<the checkpoint>"
            )

    def keep_start_weights(self) -> None:
        """With ``stage.wise_ft``, remember the weights the fit starts from (they go into every checkpoint)."""
        if self.wise_ft is not None:
            self.wise_ft_start = start_weights(self)

    def use_ema_weights(self) -> None:
        """Copy the EMA weights into the UNet (for generation after training)."""
        if self.ema is not None:
            self.ema.copy_to(self.ema_parameters())

    def use_inference_weights(self, use_ema: bool = True, wise_ft: float | None = None) -> float | None:
        """The weights to generate with: the EMA's (``use_ema``), then averaged with the start weights as WiSE-FT
        does (:mod:`idiff.diffusion.wise_ft`) with alpha ``wise_ft``, or the fit's ``stage.wise_ft`` when None.

        Applied once: the module then holds plain weights (``stage.wise_ft`` null in its hyper-parameters, so an
        export of it is not averaged again). Returns the alpha applied, None when there was no average.
        """
        if use_ema:
            self.use_ema_weights()
        alpha = check_alpha(wise_ft, "wise_ft")
        if alpha is None:
            alpha = self.wise_ft if self.wise_ft_start is not None else None
        elif self.wise_ft_start is None:
            raise ConfigError(
                f"wise_ft={wise_ft}: this checkpoint keeps no start weights to average with (only a fit with "
                "stage.wise_ft set keeps them); leave wise_ft=null"
            )
        if alpha is not None:
            interpolate(self, self.wise_ft_start, alpha)
        self.wise_ft, self.wise_ft_start = None, None
        self.hparams["stage"] = {**self.hparams["stage"], "wise_ft": None}
        return alpha

    # ------------------------------------------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(
        self,
        sources: torch.Tensor,
        instructions: list[str],
        text_scale: float | torch.Tensor,
        image_scale: float | torch.Tensor,
        generator: torch.Generator | list[torch.Generator] | None = None,
    ) -> torch.Tensor:
        """Edited images in [-1, 1] for sources (B, 3, H, W) in [-1, 1] and one instruction each.

        ``generator``: one for the batch, or one per image (each image's noise then does not depend on the batch).
        """
        if self.text_to_image:
            raise ConfigError(
                "this is a text-to-image checkpoint (stage=pretrain_adaptation): it does not edit images; start "
                "stage=task_specific from it with init_weights=<its checkpoint>"
            )
        config = self.hparams["sampler"]
        scheduler = build_inference_scheduler(config["scheduler"], self.noise_scheduler.config)
        sampler = GuidedSampler(
            self.unet, scheduler, config["formula"], config["num_steps"], float(config.get("strength", 1.0)),
            self.preconditioning, self.source_filter, self.residual_scale,
        )
        source_latents = self.codec.encode_source(sources)
        unchanged = None  # strength < 1 starts from what the diffusion generates for "no change"
        if sampler.strength < 1.0:
            unchanged = self.to_diffused(source_latents * self.codec.scaling_factor, source_latents)
        states, tokens = self.instruction_states(instructions)
        pooled = None
        if self.source_filter is not None:
            pooled = SourceFilter.pool(states, tokens).split([len(instructions), 1])
        masks = tokens.split([len(instructions), 1]) if self.mask_padding else (None, None)
        latents = sampler(
            source_latents,
            *states.split([len(instructions), 1]),
            text_scale,
            image_scale,
            self.codec.latent_channels,
            generator,
            *masks,
            unchanged,
            pooled,
        )
        return self.codec.decode(self.from_diffused(latents, source_latents))

    def _generation_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        generator = torch.Generator(self.device).manual_seed(self.hparams["seed"] * 100003 + batch_idx)
        text_scale = batch["text_scale"].to(self.dtype)[:, None, None, None]
        image_scale = batch["image_scale"].to(self.dtype)[:, None, None, None]
        return self.generate(batch["source"], batch["instruction"], text_scale, image_scale, generator)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        """Generated images; :class:`idiff.evaluation.TaskEvaluation` decodes and scores them."""
        return self._generation_step(batch, batch_idx)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        """Generated images; :class:`idiff.evaluation.TaskEvaluation` decodes and scores them."""
        return self._generation_step(batch, batch_idx)

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        """Generated images for user inputs."""
        return self._generation_step(batch, batch_idx)
