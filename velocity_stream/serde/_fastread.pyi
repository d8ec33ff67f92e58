from typing import Any

from velocity_stream.serde.read_program import ReadInstruction

def read(program: ReadInstruction, data: bytes, start: int = 0) -> Any: ...
