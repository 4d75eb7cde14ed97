"""Training FocalClick and FocalClick-XL presets: ``focalxl train``, ``torchrun -m focalxl.train``.

Engine-side; the doors never import it. One module per part:

* :mod:`.datasets` — ``--data`` sources (the evaluation readers, matting folders), bad data skipped;
* :mod:`.crop_simulation` — Target and Focus Crops with flips and rescaling;
* :mod:`.clicks`, :mod:`.boxes`, :mod:`.scribbles`, :mod:`.coarse_masks` — the interaction simulators;
* :mod:`.samples` — a training sample for each kind of network;
* :mod:`.losses` — NFL, boundary-weighted NFL, boundary BCE, alpha MSE;
* :mod:`.objectives`, :mod:`.xl_tasks`, :mod:`.tasks` — what a step computes, per preset and stage;
* :mod:`.stages` — what trains in each stage, learning-rate multipliers;
* :mod:`.distributed` — torchrun process groups, global-batch BatchNorm, the sampler;
* :mod:`.loop` — steps, accumulation, bf16, validation, checkpoints, exact resume;
* :mod:`.checkpoints` — files ``focalxl.load`` reads, and ``resume.pth``;
* :mod:`.logs` — CSV, TensorBoard, progress bar;
* :mod:`.command` — the command line.
"""
