"""What an engine is asked and answers: ArrayState/ArrayConfig, MVMResult, weight
mapping, energy models."""
