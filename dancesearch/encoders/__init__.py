"""The two towers: a text encoder and a music + motion dance encoder sharing one embedding space.

`model.build_model(config)` turns a ModelConfig (config.py, presets in registry.py) into a model
with `encode_text` and `encode_dance`; inference.py embeds with a trained checkpoint, and
onnx_text.py encodes query text from the checkpoint's ONNX export without torch. Encoders
never read the library or talk to Prefect. This package imports nothing itself, so that the
torch-free reader can be imported alone.
"""
