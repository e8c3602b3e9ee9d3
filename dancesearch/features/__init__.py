"""Per-frame features of a clip's two halves, as pure functions over arrays.

`music` turns song samples into the 35-dim librosa set at the motion frame rate, plus tempo;
`motion` turns (T, 22, 3) joints into heading-invariant kinematics and flags unusable windows.
Import the submodule you need (music pulls in librosa, motion needs only numpy).
"""
