"""The metric table of `idiff test` and the third-party messages the CLI silences (idiff.console)."""

from __future__ import annotations

import logging
import warnings

from idiff.console import format_metric, metric_rows, print_metric_table, quiet_third_party


def test_one_decoder_puts_each_metric_beside_its_identity_baseline() -> None:
    metrics = {"AP": 0.0, "PCK@0.1": 0.05017301067709923, "identity/AP": 0.0, "identity/PCK@0.1": 0.0813}
    header, rows = metric_rows(metrics, ["analytic"])
    assert header == ["generated", "identity"]
    assert rows == {"AP": [0.0, 0.0], "PCK@0.1": [0.05017301067709923, 0.0813]}


def test_several_decoders_get_a_column_pair_each_and_missing_cells_stay_empty() -> None:
    metrics = {"AP": 0.1, "identity/AP": 0.0, "learned/AP": 0.3, "learned/identity/AP": 0.02, "learned/extra": 1.0}
    header, rows = metric_rows(metrics, ["analytic", "learned"])
    assert header == ["generated", "identity", "learned", "learned identity"]
    assert rows == {"AP": [0.1, 0.0, 0.3, 0.02], "extra": [None, None, 1.0, None]}


def test_a_metric_named_like_a_decoder_prefix_is_not_split_without_that_decoder() -> None:
    header, rows = metric_rows({"learned/AP": 0.5}, ["analytic"])
    assert header == ["generated"] and rows == {"learned/AP": [0.5]}


def test_values_are_rounded_for_reading() -> None:
    assert format_metric(0.05017301067709923) == "0.0502"
    assert format_metric(25.003829956054688) == "25.00"
    assert format_metric(0.0) == "0.0000"
    assert format_metric(-12.345) == "-12.35"


def test_the_printed_table_has_one_row_per_metric(capsys) -> None:
    print_metric_table({"PSNR": 25.0038, "identity/PSNR": 25.2195, "learned/PSNR": 26.5},
                       "test: denoise, 16 requests", ["analytic", "learned"], {"analytic": 1.25, "learned": 3.5})
    out = capsys.readouterr().out
    psnr = next(line for line in out.splitlines() if "PSNR" in line)
    assert "25.00" in psnr and "25.22" in psnr and "26.50" in psnr
    ms = next(line for line in out.splitlines() if "decode ms / image" in line)
    assert "1.25" in ms and "3.50" in ms
    assert "test: denoise, 16 requests" in out


def test_lightning_tips_are_dropped_and_its_other_messages_kept(caplog) -> None:
    from lightning.pytorch.utilities.rank_zero import rank_zero_info

    with warnings.catch_warnings(), caplog.at_level(logging.INFO):  # its warning filters stay in this test
        quiet_third_party()
        quiet_third_party()  # idempotent: one filter
        rank_zero_info("💡 Tip: For seamless cloud logging, try installing litlogger")
        rank_zero_info("GPU available: False, used: False")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["GPU available: False, used: False"]
    assert len(logging.getLogger("lightning.pytorch.utilities.rank_zero").filters) == 1


def test_torchs_pytree_deprecation_inside_lightning_is_silenced() -> None:
    from torch.utils._pytree import LeafSpec

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LeafSpec()
        assert any("LeafSpec" in str(w.message) for w in caught)  # torch still warns without the filter
        caught.clear()
        quiet_third_party()
        LeafSpec()
        warnings.warn("another FutureWarning", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["another FutureWarning"]
