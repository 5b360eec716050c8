"""The rows of each results table that `reproduce.py` runs: config and citation id.

A row names its paper value by citation id (`experiments/PAPER_NUMBERS.md`),
never by a typed number. `make_results.py` prints a row that has no run
record as "not run".
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Row:
  key: str
  label: str
  config: str  # file in experiments/configs/
  paper_id: str | None


TABLES = {
    "binarized_mnist": [
        Row("fvsbn", "FVSBN", "fvsbn_mnist.py", "larochelle2011-fvsbn"),
        Row("nade", "NADE, 500 hidden", "nade_mnist.py", "uria2014-nade-fixed-order"),
        Row("deepnade", "DeepNADE 2x500, 1 random ordering", "deepnade_mnist.py",
            "uria2014-eonade-2hl-1ord"),
        Row("made_1mask", "MADE 1x500, 1 mask, direct connections", "made_mnist.py",
            "made2015-1hl-1mask"),
        Row("made_8000_1mask", "MADE 1x8000, 1 mask, direct connections",
            "made_8000_1mask_mnist.py", "made2015-1hl-1mask"),
        Row("made_32masks", "MADE 1x500, 32 masks, exact ensemble", "made_32masks_mnist.py",
            "made2015-1hl-32masks"),
        Row("made_2x8000_1mask", "MADE 2x8000, 1 mask", "made_2x8000_1mask_mnist.py",
            "made2015-2hl-1mask"),
        Row("made_2x8000_32masks", "MADE 2x8000, 32 masks", "made_2x8000_32masks_mnist.py",
            "made2015-2hl-32masks"),
        Row("pixelcnn", "PixelCNN, 15 blocks, h=32", "pixelcnn_mnist.py",
            "pixelrnn2016-pixelcnn-mnist"),
        Row("row_lstm", "Row LSTM, 7 layers, h=16", "row_lstm_mnist.py",
            "pixelrnn2016-rowlstm-mnist"),
    ],
    "cifar10": [
        Row("pixelcnn", "PixelCNN", "pixelcnn_cifar10.py", "pixelrnn2016-pixelcnn-cifar10"),
        Row("row_lstm", "Row LSTM, 12 layers", "row_lstm_cifar10.py",
            "pixelrnn2016-rowlstm-cifar10"),
        Row("gated_pixelcnn", "Gated PixelCNN", "gated_pixelcnn_cifar10.py",
            "vdoord2016-gated-pixelcnn-cifar10"),
        Row("pixelcnn_pp", "PixelCNN++", "pixelcnn_pp_cifar10.py",
            "salimans2017-pixelcnnpp-cifar10"),
    ],
}

# RNADE on UCI (`reproduce_uci.py`): data set -> citation id of the paper's row.
UCI = {
    "boston": "uria2013-rnade-mog-boston",
    "ionosphere": "uria2013-rnade-mog-ionosphere",
}
