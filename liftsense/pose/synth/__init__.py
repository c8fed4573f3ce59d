"""Seeded motion synthesiser: BlazePose-format landmark clips for the paper's 9 exercises, correct and faulty."""

from liftsense.pose.synth.dataset import SynthConfig, generate
from liftsense.pose.synth.faults import EXERCISES, FAULTS, Fault

__all__ = ["EXERCISES", "FAULTS", "Fault", "SynthConfig", "generate"]
