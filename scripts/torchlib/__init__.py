"""Shared PyTorch code of the Python scripts (the demo-model trainers in scripts/train and the cross-check
exporters in scripts/torch-crosscheck); none of it runs in the extension. Scripts import it by adding
scripts/ to sys.path from their own location, so they run from any working directory."""
