"""Data: task datasets mixed with sample weights, collated into image tensors for the LightningModule."""
