"""Reading lead files in bounded chunks: CSV (any encoding, detected delimiter) and XLSX.

A file is never loaded whole: CSV is decoded as a stream, XLSX is read with openpyxl's
read-only mode. Problems that make the whole file unreadable raise ``ImportFileError``
with one clear line; row-level problems (short or long rows) are reported per row.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

SAMPLE_BYTES = 256 * 1024
DELIMITERS = ",;\t|"
XLSX_MAGIC = b"PK\x03\x04"
# More than this share of control bytes in the sample: binary, not text.
MAX_CONTROL_SHARE = 0.01
csv.field_size_limit(10 * 1024 * 1024)


class ImportFileError(Exception):
    """The file cannot be imported at all; the message says why in one line."""


@dataclass
class Chunk:
    """Up to ``chunk_size`` data rows, each as many values as the header has columns."""

    rows: list[list[Any]]
    numbers: list[int]  # 1-based data row numbers (header excluded)
    bad: dict[int, str] = field(default_factory=dict)  # data row number → what is wrong


@dataclass
class LeadFile:
    path: Path
    kind: str  # "csv" or "xlsx"
    header: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    size: int = 0


def open_lead_file(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None
) -> LeadFile:
    """Inspect the file: its kind, encoding, delimiter and header row."""
    if not path.exists():
        raise ImportFileError(f"{path}: no such file")
    if path.is_dir():
        raise ImportFileError(f"{path}: is a directory, not a file")
    size = path.stat().st_size
    if size == 0:
        raise ImportFileError(f"{path}: the file is empty")
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if path.suffix.lower() in {".xlsx", ".xlsm"} or sample.startswith(XLSX_MAGIC):
        return LeadFile(path, "xlsx", _xlsx_header(path), size=size)
    encoding = encoding or _detect_encoding(path, sample)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ImportFileError(f"{path}: unknown encoding {encoding!r}") from None
    text = _decode_sample(path, sample, encoding, complete=size <= SAMPLE_BYTES)
    if not text.strip():
        raise ImportFileError(f"{path}: the file has no header row")
    delimiter = delimiter or _detect_delimiter(text)
    if len(delimiter) != 1:
        raise ImportFileError(f"{path}: the delimiter must be one character, not {delimiter!r}")
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    header = [name.strip().lstrip("\ufeff") for name in header]
    if not any(header):
        raise ImportFileError(f"{path}: the first line is empty; it must name the columns")
    return LeadFile(path, "csv", header, encoding, delimiter, size)


def _detect_encoding(path: Path, sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    controls = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
    if controls > MAX_CONTROL_SHARE * len(sample):
        raise ImportFileError(f"{path}: looks like a binary file, not CSV text or an XLSX workbook")
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(sample) - 4:  # a character cut by the sample's end
            return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise ImportFileError(
            f"{path}: cannot tell the text encoding; pass --encoding (e.g. latin-1)"
        )
    return str(best.encoding)


def _decode_sample(path: Path, sample: bytes, encoding: str, *, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        text = decoder.decode(sample, final=complete)
    except UnicodeDecodeError as error:
        line = sample[: error.start].count(b"\n") + 1
        raise ImportFileError(
            f"{path}: line {line} is not valid {encoding} (byte {sample[error.start]:#04x}); "
            "pass the right --encoding (e.g. latin-1 or cp1252)"
        ) from None
    if not complete and "\n" in text:
        text = text[: text.rindex("\n") + 1]
    if "\x00" in text:
        raise ImportFileError(f"{path}: contains NUL bytes: binary, or pass --encoding utf-16")
    return text


def _detect_delimiter(text: str) -> str:
    lines = text.splitlines()[:50]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def iter_chunks(lead_file: LeadFile, chunk_size: int) -> Iterator[Chunk]:
    """Data rows in chunks; rows with too few or too many values are marked bad."""
    if lead_file.kind == "xlsx":
        yield from _xlsx_chunks(lead_file, chunk_size)
        return
    with lead_file.path.open(
        "r", encoding=lead_file.encoding, newline="", errors="strict"
    ) as handle:
        yield from _csv_chunks(lead_file, handle, chunk_size)


def _csv_chunks(lead_file: LeadFile, handle: IO[str], chunk_size: int) -> Iterator[Chunk]:
    reader = csv.reader(handle, delimiter=lead_file.delimiter or ",", strict=False)
    width = len(lead_file.header)
    number = 0
    chunk = Chunk([], [])
    try:
        next(reader)  # the header
        for row in reader:
            if not row:
                continue  # blank line
            number += 1
            if len(row) != width:
                where = "short" if len(row) < width else "long"
                chunk.bad[number] = (
                    f"row is {where}: {len(row)} values for {width} columns "
                    f"(line {reader.line_num})"
                )
                row = (row + [""] * width)[:width]
            if "\x00" in "".join(row):
                chunk.bad[number] = f"row contains NUL bytes (line {reader.line_num})"
            chunk.rows.append(row)
            chunk.numbers.append(number)
            if len(chunk.rows) >= chunk_size:
                yield chunk
                chunk = Chunk([], [])
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"{lead_file.path}: after data row {number} (line {reader.line_num + 1}) the text "
            f"is not valid {lead_file.encoding} (byte {error.object[error.start]:#04x}); "
            "rows before it were handled; pass the right --encoding"
        ) from None
    except csv.Error as error:
        raise ImportFileError(
            f"{lead_file.path}: line {reader.line_num} cannot be read as CSV: {error}"
        ) from None
    if chunk.rows:
        yield chunk


def _open_workbook(path: Path) -> Any:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise ImportFileError(f"{path}: not a readable XLSX workbook ({error})") from None


def _xlsx_header(path: Path) -> list[str]:
    workbook = _open_workbook(path)
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        first = next(sheet.iter_rows(values_only=True), None) if sheet is not None else None
    finally:
        workbook.close()
    if not first or not any(v not in (None, "") for v in first):
        raise ImportFileError(f"{path}: the first sheet has no header row")
    header = [_cell_text(v) for v in first]
    while header and not header[-1]:
        header.pop()
    return header


def _xlsx_chunks(lead_file: LeadFile, chunk_size: int) -> Iterator[Chunk]:
    workbook = _open_workbook(lead_file.path)
    width = len(lead_file.header)
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        next(rows)
        number = 0
        chunk = Chunk([], [])
        for values in rows:
            cells = [_cell_text(v) for v in values]
            if not any(cells):
                continue
            number += 1
            if any(cells[width:]):
                chunk.bad[number] = f"row is long: values beyond the {width} named columns"
            chunk.rows.append((cells + [""] * width)[:width])
            chunk.numbers.append(number)
            if len(chunk.rows) >= chunk_size:
                yield chunk
                chunk = Chunk([], [])
        if chunk.rows:
            yield chunk
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    """A cell as the text a CSV export would show; dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()
