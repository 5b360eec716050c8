"""The rows of each results table that `reproduce.py` runs: config and citation id.

A row names its config as `FILE[:ARG]` (a file in `experiments/configs/`
and the argument of its full, paper-size run) and its paper value by
citation id (`experiments/PAPER_NUMBERS.md`), never by a typed number. The
`cpu` budget runs the config's `cpu` variant (`ARG,cpu`, or `cpu` without an
ARG). A row of `folds` > 0 trains that many folds of a UCI set
(`fold<k>_train` / `_validation` / `_test`) and reports their mean.
`make_results.py` prints a row that has no run record as "not run". Adding a
row is one line here.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Row:
  key: str
  label: str
  config: str  # FILE[:ARG], FILE in experiments/configs/
  paper_id: str | None
  folds: int = 0  # UCI: folds trained and averaged; 0 for one run per seed.

  @property
  def config_file(self):
    return self.config.partition(":")[0]

  @property
  def config_arg(self):
    return self.config.partition(":")[2]

  def variant(self, budget):
    """The config argument of `budget` ("full" or "cpu"/"smoke": the cpu variant)."""
    if budget == "full":
      return self.config_arg
    return f"{self.config_arg},cpu" if self.config_arg else "cpu"


_DYNAMIC = "binarized_mnist_dynamic.py"

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
        Row("diagonal_bilstm", "Diagonal BiLSTM, 7 layers, h=16", "diagonal_bilstm_mnist.py",
            "pixelrnn2016-diagbilstm-mnist"),
        Row("pixelsnail", "PixelSNAIL, pytorch-generative's size", "pixelsnail_mnist.py", None),
        Row("lmconv_1order", "LMConv, 1 S-curve order", "lmconv_mnist.py:1order", None),
        Row("lmconv_8orders", "LMConv, 8 S-curve orders, exact ensemble", "lmconv_mnist.py",
            "jain2020-lmconv-mnist-8orders"),
    ],
    "binarized_mnist_dynamic": [
        Row("nade", "NADE, 500 hidden", f"{_DYNAMIC}:nade", "pg-nade-dynamic"),
        Row("made", "MADE 1x500, 1 mask, direct connections", f"{_DYNAMIC}:made",
            "pg-made-dynamic"),
        Row("pixelcnn", "PixelCNN, 15 blocks, h=32", f"{_DYNAMIC}:pixelcnn",
            "pg-pixelcnn-dynamic"),
        Row("gated_pixelcnn", "Gated PixelCNN", f"{_DYNAMIC}:gated_pixelcnn",
            "pg-gated-pixelcnn-dynamic"),
        Row("transformer", "Transformer, ImageGPT-style", f"{_DYNAMIC}:transformer",
            "pg-imagegpt-dynamic"),
        Row("pixelsnail", "PixelSNAIL", f"{_DYNAMIC}:pixelsnail", "pg-pixelsnail-dynamic"),
    ],
    "mnist_8bit": [
        Row("pixelcnn", "PixelCNN", "mnist_images.py:pixelcnn,mnist_8bit", None),
        Row("gated_pixelcnn", "Gated PixelCNN", "mnist_images.py:gated_pixelcnn,mnist_8bit",
            None),
        Row("pixelcnn_pp", "PixelCNN++", "pixelcnn_pp_mnist_8bit.py", None),
        Row("row_lstm", "Row LSTM", "mnist_images.py:row_lstm,mnist_8bit", None),
        Row("diagonal_bilstm", "Diagonal BiLSTM",
            "mnist_images.py:diagonal_bilstm,mnist_8bit", None),
        Row("pixelsnail", "PixelSNAIL", "mnist_images.py:pixelsnail,mnist_8bit", None),
    ],
    "fashion_mnist": [
        Row("pixelcnn", "PixelCNN", "mnist_images.py:pixelcnn,fashion_mnist", None),
        Row("gated_pixelcnn", "Gated PixelCNN",
            "mnist_images.py:gated_pixelcnn,fashion_mnist", None),
        Row("pixelcnn_pp", "PixelCNN++", "mnist_images.py:pixelcnn_pp,fashion_mnist", None),
    ],
    "cifar10": [
        Row("pixelcnn", "PixelCNN", "pixelcnn_cifar10.py", "pixelrnn2016-pixelcnn-cifar10"),
        Row("row_lstm", "Row LSTM, 12 layers", "row_lstm_cifar10.py",
            "pixelrnn2016-rowlstm-cifar10"),
        Row("diagonal_bilstm", "Diagonal BiLSTM", "diagonal_bilstm_cifar10.py",
            "pixelrnn2016-diagbilstm-cifar10"),
        Row("gated_pixelcnn", "Gated PixelCNN", "gated_pixelcnn_cifar10.py",
            "vdoord2016-gated-pixelcnn-cifar10"),
        Row("pixelcnn_pp", "PixelCNN++", "pixelcnn_pp_cifar10.py",
            "salimans2017-pixelcnnpp-cifar10"),
        Row("pixelsnail", "PixelSNAIL", "pixelsnail_cifar10.py", "chen2017-pixelsnail-cifar10"),
        Row("lmconv_8orders", "LMConv, 8 S-curve orders", "lmconv_cifar10.py",
            "jain2020-lmconv-cifar10-8orders"),
        Row("lmconv_1order", "LMConv, 1 order", "lmconv_cifar10.py:1order",
            "jain2020-lmconv-cifar10-1order"),
    ],
    "uci": [
        Row("boston", "RNADE-MoG, Boston housing", "rnade_boston.py",
            "uria2013-rnade-mog-boston", folds=10),
        Row("ionosphere", "RNADE-MoG, Ionosphere", "rnade_ionosphere.py",
            "uria2013-rnade-mog-ionosphere", folds=10),
    ],
    "shakespeare_char": [
        Row("char_lstm", "Char-RNN LSTM", "char_lstm_shakespeare.py", None),
        Row("transformer", "Transformer", "transformer_shakespeare.py", None),
    ],
    "speech": [
        Row("wavenet", "WaveNet, unconditional", "wavenet_speech.py", None),
        Row("wavenet_mel", "WaveNet, log-mel conditioned", "wavenet_speech_mel.py", None),
    ],
}

# RNADE on UCI: data set -> citation id of the paper's row.
UCI = {row.key: row.paper_id for row in TABLES["uci"]}
