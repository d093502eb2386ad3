"""The memory and code map: code lives at addresses.

An `Image` is a set of symbols (offset -> code) loaded at a base address (a KASLR offset). A
`CodeMap` resolves an address to the code there, or explains why there is none: unmapped, an
image that has been unloaded, or a symbol that has moved since the address was handed out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CodeFn = Callable[..., Any]


class CodeFault(Exception):
    """Entering an address with no (live) code behind it."""

    def __init__(self, address: int, reason: str) -> None:
        super().__init__(f"{address:#x}: {reason}")
        self.address = address
        self.reason = reason


@dataclass
class Image:
    """A loadable image: named symbols at offsets from its base."""

    name: str
    size: int = 0x100_0000
    symbols: dict[str, tuple[int, CodeFn]] = field(default_factory=dict)

    def add(self, symbol: str, offset: int, code: CodeFn) -> None:
        if symbol in self.symbols:
            raise ValueError(f"{self.name}: symbol {symbol} defined twice")
        if not 0 <= offset < self.size:
            raise ValueError(f"{self.name}: {symbol} at {offset:#x} lies outside the image")
        self.symbols[symbol] = (offset, code)


@dataclass
class Loaded:
    image: Image
    base: int
    generation: int
    live: bool = True

    def contains(self, address: int) -> bool:
        return self.base <= address < self.base + self.image.size


@dataclass(frozen=True, slots=True)
class Resolved:
    image: str
    base: int
    symbol: str
    code: CodeFn
    generation: int


class CodeMap:
    def __init__(self) -> None:
        self._loaded: list[Loaded] = []
        self._generation = 0
        self._by_address: dict[int, Resolved] = {}

    def load(self, image: Image, base: int) -> Loaded:
        for other in self._loaded:
            if other.live and not (
                base + image.size <= other.base or other.base + other.image.size <= base
            ):
                raise ValueError(f"{image.name}@{base:#x} overlaps {other.image.name}")
        self._generation += 1
        loaded = Loaded(image, base, self._generation)
        self._loaded.append(loaded)
        for symbol, (offset, code) in image.symbols.items():
            self._by_address[base + offset] = Resolved(
                image.name, base, symbol, code, loaded.generation
            )
        return loaded

    def unload(self, loaded: Loaded) -> None:
        loaded.live = False
        for offset, _ in loaded.image.symbols.values():
            self._by_address.pop(loaded.base + offset, None)

    def address_of(self, image: str, symbol: str) -> int:
        for loaded in reversed(self._loaded):
            if loaded.live and loaded.image.name == image and symbol in loaded.image.symbols:
                return loaded.base + loaded.image.symbols[symbol][0]
        raise KeyError(f"{image}:{symbol} is not loaded")

    def symbol_at(self, address: int) -> Resolved | None:
        return self._by_address.get(address)

    def resolve(self, address: int) -> Resolved:
        found = self._by_address.get(address)
        if found is not None:
            return found
        for loaded in reversed(self._loaded):
            if loaded.contains(address):
                if loaded.live:
                    raise CodeFault(
                        address,
                        f"no code at this address inside {loaded.image.name}@{loaded.base:#x}",
                    )
                stale = [
                    s for s, (o, _) in loaded.image.symbols.items() if loaded.base + o == address
                ]
                what = f" ({stale[0]})" if stale else ""
                raise CodeFault(
                    address, f"stale: {loaded.image.name}@{loaded.base:#x}{what} has been unloaded"
                )
        raise CodeFault(address, "unmapped: no image covers this address")

    def images(self) -> list[Loaded]:
        return [loaded for loaded in self._loaded if loaded.live]
