"""The one exception type mohsedi lets escape for bad input."""

from __future__ import annotations

from mohsedi.text import printable


class X12Error(Exception):
    """Malformed X12 input.

    Carries where the problem is (file, 1-based segment number, character offset)
    and what was expected, so a billing team can open the file at the right place.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        segment: int | None = None,
        offset: int | None = None,
        segment_id: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.segment = segment
        self.offset = offset
        self.segment_id = segment_id
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.segment is not None:
            seg = f"segment {self.segment}"
            if self.segment_id:
                seg += f" ({self.segment_id})"
            where.append(seg)
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        text = f"{': '.join(where)}: {self.message}" if where else self.message
        return printable(text)  # names and values from the file reach terminals and logs

    def located(self, source: str) -> X12Error:
        """The same error with the file name filled in (readers below the file level do not know it)."""
        if self.source == source:
            return self
        return X12Error(
            self.message,
            source=source,
            segment=self.segment,
            offset=self.offset,
            segment_id=self.segment_id,
        )
