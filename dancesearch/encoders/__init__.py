"""The two towers: a text encoder and a music + motion dance encoder sharing one embedding space.

`build_model(config)` turns a ModelConfig (see registry) into a model with `encode_text` and
`encode_dance`; encoders never read the library or talk to Prefect.
"""

from dancesearch.encoders.config import LossConfig, ModelConfig, RunConfig, TextConfig, TrainConfig
from dancesearch.encoders.model import DanceTextModel, build_model

__all__ = [
    "DanceTextModel",
    "LossConfig",
    "ModelConfig",
    "RunConfig",
    "TextConfig",
    "TrainConfig",
    "build_model",
]
