"""A minimal reader for R's `.rda` files (what `save()` writes), without R.

Enough for data.frames of numeric, integer, logical and factor columns, as in
the Debian `r-cran-mlbench` data sets. Written from R's serialization format
(R Internals, "Serialization Formats"; R's src/main/serialize.c):

  file    = compressed(gzip | bzip2 | xz | none)("RDX2\\n" | "RDX3\\n" + stream)
  stream  = "X\\n" (big-endian XDR; the ASCII "A" and native "B" formats are
            refused) int32 version (2 or 3), int32 writer R version, int32
            minimal reader version, [version 3: int32 n, n bytes of the
            native encoding name], then ONE item: the saved objects as a
            pairlist whose tags are the object names.
  item    = int32 flags, then a body that depends on the type in the flags'
            low byte. flags bit 8: is an object (has a class); bit 9: has
            attributes; bit 10: has a tag; bits 12+: "levels" (for a CHARSXP,
            its encoding; for REFSXP, the reference index).

Symbols and environments are remembered in a reference table that later
REFSXP items point into (1-based). Environments, closures, bytecode, complex
and raw vectors are refused with an error naming the type: no data set needs
them, and refusing is safer than guessing.

    frames = rda.read_data_frames(path)   # {object name: {column: values}}
    frames["BostonHousing"]["medv"]       # float64 [506]
    frames["Ionosphere"]["Class"]         # Factor(codes int32 [351], levels)
"""

import bz2
import dataclasses
import gzip
import lzma
import struct
from typing import Any, NamedTuple

import numpy as np

# SEXP types (Rinternals.h) and the pseudo-types of the serializer.
NILSXP, SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP = 0, 1, 2, 3, 4, 5, 6
CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP, STRSXP = 9, 10, 13, 14, 15, 16
DOTSXP, VECSXP, EXPRSXP, RAWSXP = 17, 19, 20, 24
ALTREP_SXP, EMPTYENV_SXP, BASEENV_SXP = 238, 242, 241
NILVALUE_SXP, GLOBALENV_SXP, REFSXP = 254, 253, 255
_SINGLETONS = {NILVALUE_SXP: None, GLOBALENV_SXP: "<GlobalEnv>",
               EMPTYENV_SXP: "<EmptyEnv>", BASEENV_SXP: "<BaseEnv>",
               252: "<UnboundValue>", 251: "<MissingArg>"}
_PAIRLISTS = (LISTSXP, LANGSXP, DOTSXP)

NA_INTEGER = -2**31  # R's NA for integer, logical and factor codes.
_IS_OBJECT, _HAS_ATTR, _HAS_TAG = 1 << 8, 1 << 9, 1 << 10


class RDataError(ValueError):
  """The bytes are not an R serialization stream this reader understands."""


@dataclasses.dataclass
class RObject:
  """One deserialized R value.

  Attributes:
    sexptype: the R type code (e.g. REALSXP = 14, VECSXP = 19).
    value: numpy array (logical/integer/real vectors), list of str or None
      (character vectors), list of RObject (lists), str (symbols), or a
      list of (tag, RObject) pairs (pairlists).
    attributes: attribute name -> RObject (names, class, levels, ...).
  """
  sexptype: int
  value: Any
  attributes: dict = dataclasses.field(default_factory=dict)

  def attr(self, name):
    """The attribute's value (not its RObject), or None when absent."""
    obj = self.attributes.get(name)
    return None if obj is None else obj.value


class Factor(NamedTuple):
  """An R factor: `levels[codes[i]]` is row i's label; code -1 is NA."""
  codes: np.ndarray  # int32, 0-based
  levels: list


def decompress(blob):
  """The raw stream of an .rda file, whichever compression `save()` used."""
  blob = bytes(blob)
  if blob[:2] == b"\x1f\x8b":
    return gzip.decompress(blob)
  if blob[:3] == b"BZh":
    return bz2.decompress(blob)
  if blob[:6] == b"\xfd7zXZ\x00":
    return lzma.decompress(blob)
  return blob


class _Reader:
  """Reads items from an XDR serialization stream (the body of an .rda)."""

  def __init__(self, data, pos):
    self._data = data
    self._pos = pos
    self._refs = []  # symbols and environments, in order of appearance

  def _take(self, n):
    end = self._pos + n
    if end > len(self._data):
      raise RDataError(f"truncated stream: wanted {n} bytes at offset "
                       f"{self._pos}, only {len(self._data) - self._pos} left")
    out = self._data[self._pos:end]
    self._pos = end
    return out

  def skip(self, n):
    self._take(n)

  def int32(self):
    return struct.unpack(">i", self._take(4))[0]

  def _length(self):
    n = self.int32()
    if n == -1:  # long vector: two more words, upper then lower 32 bits
      upper, lower = self.int32(), self.int32()
      n = (upper << 32) + (lower & 0xFFFFFFFF)
    if n < 0:
      raise RDataError(f"negative vector length {n}")
    return n

  def _array(self, dtype, itemsize):
    n = self._length()
    return np.frombuffer(self._take(n * itemsize), dtype).copy()

  def _charsxp(self, flags):
    n = self.int32()
    if n == -1:
      return None  # NA_character_
    raw = self._take(n)
    levels = flags >> 12
    # Encoding bits: 2 BYTES, 4 LATIN1, 8 UTF8, 64 ASCII; UTF-8 otherwise.
    return raw.decode("latin-1" if levels & 4 else "utf-8", errors="replace")

  def _attributes(self):
    attrs = self.item()
    if attrs.sexptype not in _PAIRLISTS:
      raise RDataError(f"attributes must be a pairlist, got type {attrs.sexptype}")
    return dict(attrs.value)

  def _pairlist(self, flags):
    """Iterative over CDRs: a long pairlist must not hit Python's recursion limit."""
    sexptype, items, attributes = flags & 0xFF, [], {}
    while True:
      if flags & _HAS_ATTR:
        attr_here = self._attributes()
        if not items:
          attributes = attr_here
      tag = self.item().value if flags & _HAS_TAG else None
      items.append((tag, self.item()))
      flags = self.int32()
      if (flags & 0xFF) not in _PAIRLISTS:
        self._pos -= 4  # the CDR is not another cell: read it as an item
        tail = self.item()
        if tail.sexptype != NILVALUE_SXP:
          raise RDataError(f"improper pairlist ending in type {tail.sexptype}")
        return RObject(sexptype, items, attributes)

  def _altrep(self):
    info, state, attr = self.item(), self.item(), self.item()
    cls = info.value[0][1].value
    if cls == "compact_intseq":  # state: REALSXP (n, first, step)
      n, first, step = (int(v) for v in state.value)
      value = np.arange(n, dtype=np.int32) * step + first
      obj = RObject(INTSXP, value.astype(np.int32))
    elif cls == "compact_realseq":
      n, first, step = state.value
      obj = RObject(REALSXP, np.arange(int(n)) * step + first)
    elif cls.startswith("wrap_"):  # state: list(wrapped vector, metadata)
      obj = state.value[0]
    elif cls == "deferred_string":  # state: pairlist(the vector to format)
      raise RDataError("ALTREP deferred_string is not supported; re-save the "
                       "object in R with as.character() materialized")
    else:
      raise RDataError(f"unsupported ALTREP class {cls!r}")
    if attr.sexptype in _PAIRLISTS:
      obj.attributes = dict(attr.value)
    return obj

  def item(self):
    """Reads one item (and, recursively, everything it contains)."""
    flags = self.int32()
    sexptype = flags & 0xFF
    if sexptype in _SINGLETONS:
      return RObject(sexptype, _SINGLETONS[sexptype])
    if sexptype == REFSXP:
      index = flags >> 8 or self.int32()
      if not 1 <= index <= len(self._refs):
        raise RDataError(f"reference {index} out of range ({len(self._refs)} known)")
      return self._refs[index - 1]
    if sexptype == SYMSXP:
      sym = RObject(SYMSXP, self.item().value)
      self._refs.append(sym)
      return sym
    if sexptype in _PAIRLISTS:
      return self._pairlist(flags)
    if sexptype == ALTREP_SXP:
      return self._altrep()
    if sexptype == CHARSXP:
      return RObject(CHARSXP, self._charsxp(flags))
    if sexptype in (LGLSXP, INTSXP):
      value = self._array(">i4", 4).astype(np.int32)
    elif sexptype == REALSXP:
      value = self._array(">f8", 8).astype(np.float64)
    elif sexptype == STRSXP:
      value = [self._charsxp(self.int32()) for _ in range(self._length())]
    elif sexptype in (VECSXP, EXPRSXP):
      value = [self.item() for _ in range(self._length())]
    else:
      raise RDataError(
          f"R type {sexptype} is not supported by this reader (it reads "
          "logical, integer, double, character and list vectors, pairlists "
          "and symbols: enough for data.frames)")
    obj = RObject(sexptype, value)
    if flags & _HAS_ATTR:
      obj.attributes = self._attributes()
    return obj


def read_stream(blob):
  """Deserializes an .rda file's bytes (compressed or not).

  Returns:
    {object name: RObject}, in the order `save()` wrote them.
  Raises:
    RDataError: not an XDR RDX2/RDX3 file, truncated, or an unsupported type.
  """
  data = decompress(blob)
  magic = data[:5]
  if magic not in (b"RDX2\n", b"RDX3\n"):
    raise RDataError(f"not an .rda file (magic {magic!r}, expected RDX2/RDX3); "
                     "files written by saveRDS() have no RDX header")
  if data[5:7] != b"X\n":
    raise RDataError(f"serialization format {data[5:7]!r} is not supported: "
                     "only XDR ('X'), R's default for save()")
  reader = _Reader(data, 7)
  version = reader.int32()
  reader.int32(), reader.int32()  # writer's R version, minimal reader version
  if version == 3:
    reader.skip(reader.int32())  # the writer's native encoding name
  elif version != 2:
    raise RDataError(f"serialization version {version} (expected 2 or 3)")
  top = reader.item()
  if top.sexptype != LISTSXP:
    raise RDataError(f"top level is type {top.sexptype}, expected a pairlist")
  return {name: obj for name, obj in top.value}


def _column(obj, name):
  if obj.sexptype not in (LGLSXP, INTSXP, REALSXP):
    raise RDataError(f"column {name!r} has R type {obj.sexptype}; only "
                     "numeric, integer, logical and factor columns are read")
  cls = obj.attr("class") or []
  if "factor" in cls:
    codes = np.where(obj.value == NA_INTEGER, -1, obj.value - 1).astype(np.int32)
    return Factor(codes, list(obj.attr("levels")))
  return obj.value


def data_frame(obj):
  """{column name: np.ndarray | Factor} of a deserialized R data.frame.

  Integer and logical columns stay int32 (R's NA is `NA_INTEGER`); double
  columns are float64 (NA is NaN); factors become `Factor` (NA code -1).
  """
  if obj.sexptype != VECSXP or "data.frame" not in (obj.attr("class") or []):
    raise RDataError(f"not a data.frame (type {obj.sexptype}, class "
                     f"{obj.attr('class')})")
  names = obj.attr("names")
  if names is None or len(names) != len(obj.value):
    raise RDataError("data.frame without one name per column")
  columns = {n: _column(c, n) for n, c in zip(names, obj.value)}
  lengths = {len(c.codes if isinstance(c, Factor) else c) for c in columns.values()}
  if len(lengths) > 1:
    raise RDataError(f"data.frame columns have different lengths {sorted(lengths)}")
  return columns


def read_data_frames(path_or_bytes):
  """{object name: {column: values}} for every data.frame saved in an .rda.

  Objects that are not data.frames are skipped.
  """
  if isinstance(path_or_bytes, (bytes, bytearray)):
    blob = path_or_bytes
  else:
    with open(path_or_bytes, "rb") as f:
      blob = f.read()
  return {name: data_frame(obj) for name, obj in read_stream(blob).items()
          if obj.sexptype == VECSXP and "data.frame" in (obj.attr("class") or [])}


def num_rows(obj):
  """Rows of a data.frame RObject from its row.names (compact or explicit)."""
  row_names = obj.attr("row.names")
  # Automatic row names are stored compactly as c(NA_integer_, -n) (or +n).
  if (isinstance(row_names, np.ndarray) and len(row_names) == 2
      and row_names[0] == NA_INTEGER):
    return abs(int(row_names[1]))
  return len(row_names)
