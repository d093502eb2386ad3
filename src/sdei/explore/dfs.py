"""Systematic search: stateless depth-first re-execution over the chooser's decisions.

Every execution re-builds the scenario, replays the prefix of choices on the DFS stack and
takes a new branch at its end. Reductions (`reduction=`):

- `none`: every option at every choice point.
- `sleep`: sleep sets (Godefroid 1996): after option t has been explored at a node, it sleeps
  in later siblings' subtrees until a step dependent on it runs, so two interleavings that
  differ only in the order of independent steps are not both run.
- `dpor` (default): dynamic partial-order reduction (Flanagan & Godefroid, POPL 2005) plus
  sleep sets. A node starts with the options of one PE only; after each execution the race
  analysis adds a PE's options at the state before the last step it races with. A PE is the
  DPOR "process": all steps on one PE are dependent, and when one of a PE's options at a node
  is explored all of them are (a PE's own alternatives - run a thread, take an SDEI event or an
  interrupt - are local nondeterminism).

A preemption bound (CHESS, Musuvathi & Qadeer 2007) limits how often a choice leaves a
context that could have gone on. Reductions are not sound under a bound, so a bounded search
runs with `none` and says "complete within the bound".

Fault choices (does an injected firmware fault fire?) are always fully expanded.
"""

from __future__ import annotations

import gc
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sdei.abi import PSTATE_I
from sdei.explore.base import SearchResult, Ticker
from sdei.explore.budget import Budget, Progress
from sdei.explore.dependence import Footprint, Option, dependent, option_footprint
from sdei.explore.execution import Abort, Execution, ExplorerChooser, Section, StepLog, execute
from sdei.explore.fingerprint import fingerprint
from sdei.explore.target import Target
from sdei.firmware.footprint import SHARED, irq_resource, pe_part
from sdei.machine import Machine, Power
from sdei.machine.ops import STABLE_WAIT

NAME = "dfs"
Visitor = Callable[[Machine, Execution], None]
# what an execution did, step by step: its process, its footprint, what the process does next
Steps = list[tuple[Option, Footprint, Footprint | None]]
REDUCTIONS = ("dpor", "sleep", "none")


class Nondeterministic(Exception):
    """Re-building the scenario did not offer the same options: it is not deterministic."""


# What a node's subtree did, by the processes it is rooted in (`DfsSearch._summarise`).
Summary = dict[tuple[Option, ...], set[tuple[str, bool]]]
# A backtrack-set change the race analysis made at a node above a piece: (the node's depth,
# the options of which one is added unless one is there already; () adds all of them).
Op = tuple[int, tuple[int, ...]]


@dataclass
class Node:
    kind: str  # "step" or "fault"
    options: tuple[Any, ...]
    footprints: tuple[Footprint, ...]
    step: int  # how many logged steps precede this choice
    current: int
    backtrack: dict[int, None]  # in the order found: searched in that order
    done: set[int]
    sleep: dict[Option, Footprint]
    preemptions: int  # before this choice
    continuing: int | None  # the option that is not a preemption
    # Above the piece this search is (`Piece`): never branched here, and what the race
    # analysis would add to its backtrack set is kept for the search it belongs to (`ops`).
    fixed: bool = False
    visit: Visit | None = None  # the state this node is, when the search keeps states
    # Every step of this node's subtree so far, by process (for a later visit's races).
    summary: Summary = field(default_factory=dict)
    depth: int = 0  # its place on the stack
    # option -> the piece it was handed to (`DfsSearch.hand_out`), until that piece's end is
    # taken in (`DfsSearch.take_in`)
    handed: dict[int, str] = field(default_factory=dict)
    began: int = 0  # the search's executions before this node was made (`Tally`)
    by_hit: set[int] = field(default_factory=set)  # options a state met again scheduled

    def cost(self, index: int) -> int:
        return int(self.continuing is not None and index != self.continuing)


@dataclass
class Visit:
    """A state the search has reached (its fingerprint keys `DfsSearch.visited`).

    `sleep` is None until a node of this state has been searched to the end, then the
    intersection of the sleep sets it was searched under; `summary` what every process did in
    those searches. A node reaching the state again is pruned when `sleep` is a subset of its
    own (Godefroid 1996, sleep sets with state caching): all it could do was done. Under DPOR
    the pruned execution's race analysis takes the summary as its continuation (Yang et al.,
    "Efficient stateful dynamic partial order reduction", SPIN 2008). A state whose search hit
    the step limit is never used: its subtree was cut short."""

    sleep: frozenset[Option] | None = None
    summary: Summary = field(default_factory=dict)
    truncated: bool = False
    key: bytes = b""  # the state's fingerprint
    cost: int = 0  # executions its subtree took, searched to the end (`Tally`)

    def merge(self, other: Visit) -> None:
        """What another search of this state found (a slice of the same subtree elsewhere)."""
        if other.sleep is not None:
            self.sleep = other.sleep if self.sleep is None else self.sleep & other.sleep
        join_summary(self.summary, other.summary)
        self.truncated |= other.truncated


@dataclass  # not frozen: mypyc's compiled class unpickles by setting its fields
class Tally:
    """Whether keeping states pays, in executions. A state met again ends the execution there
    and `saved` about the executions its subtree took (the most it took in a search of it
    to the end); the races of its
    summary with the new prefix schedule branches the subtree's real steps might not have
    (`Node.by_hit`), and `spent` counts the executions under those (the outermost only).
    Where states are met again with summaries that race with much of the prefix (several
    threads on one CPU: B7 with three callers), they cost more than they save, and
    fingerprints on top: every CHECK_EVERY executions from CHECK_FROM on, a stateful search
    that spent at least MIN_SPENT and saved less than PAYS times that drops its states for
    good, and so does one that has met no state again in UNMET_FOR executions. Sound either
    way: the branches scheduled stay scheduled, and a stateless search from there on
    searches every subtree again. Counted in executions, not time: deterministic."""

    runs: int = 0  # this search's executions
    saved: int = 0
    spent: int = 0
    dropped: int | None = None  # the execution after which the states were dropped
    inside: int | None = None  # the depth of the node whose option `by_hit` is searched
    inside_began: int = 0  # its first execution

    def pays(self) -> bool:
        if self.saved == 0:  # no state met again yet: fingerprints for nothing, after a while
            return self.runs < UNMET_FOR
        return self.spent < MIN_SPENT or self.saved >= PAYS * self.spent


# Measured with one state in 8 kept (saved / spent from the 512th execution on): L6's proof
# 8.8-12, L3's 35-117; B7 at 3 CPUs with 3 callers 1.3-1.6, at 4 CPUs with 3 callers 2.7-4.2,
# where keeping states ran twice the executions of the stateless search. Earlier the counts
# are too small to tell. With one in 4 kept each of these chooses the same way.
CHECK_FROM = 512
CHECK_EVERY = 64
UNMET_FOR = 2048  # L7's proof meets no state again in 33,699 executions
MIN_SPENT = 8
PAYS = 5

ROOT = "0"  # the piece a search starts as


@dataclass
class Piece:
    """A part of one dfs for a worker (`sdei.explore.parallel`), or where one stands.

    The dfs explores the options of each node in the order its backtrack set gained them
    (first the one it was created with). A node's option handed out as a piece is then a
    subtree whose search depends on nothing outside it: the stack above it, and the sleep set
    there, which is every option of the node added before it (all searched before it in that
    order). What its race analysis adds to the nodes above (`Op`) is taken in by the search
    it came from at the point where one process would have searched it, in that order: the
    pieces together run exactly the executions of one process.

    `stack[:base]` are the nodes above the piece (fixed), the last of them with the piece's
    option taken; the rest the piece's own, where its search stopped (`branch`)."""

    stack: list[Node] = field(default_factory=list)
    base: int = 0
    branch: int = 0
    ident: str = ROOT  # the root's; a piece handed out from piece P is P.1, P.2, ...
    handed: int = 0  # pieces handed out from it so far (which names the next one)
    ops: tuple[Op, ...] = ()  # its changes to the nodes above it so far, in order
    # an execution of it hit the step limit, or it dropped its states: the summaries of the
    # states above it are incomplete (`DfsSearch._truncated`)
    hit_limit: bool = False
    tally: Tally | None = None  # what its states saved and cost so far (a stateful search)


@dataclass  # not frozen: mypyc's compiled class unpickles by setting its fields
class Returned:
    """A piece searched to the end, for the search it was handed out from (`take_in`): its
    changes to the nodes above it, its summaries of their states (a stateful search), and
    whether an execution hit the step limit or the piece dropped its states (then none of
    those states was searched to the end: their summaries miss what it did)."""

    ident: str
    ops: tuple[Op, ...]
    summaries: dict[int, Summary]
    hit_limit: bool


class _Chooser(ExplorerChooser):
    def __init__(self, search: DfsSearch) -> None:
        super().__init__()
        self.search = search
        self.depth = 0
        self.footprints = search.reduction != "none"
        if search.branch < len(search.stack):  # the steps before the branch are replayed
            self.known = search.logged[: search.stack[search.branch].step]

    def choose(self, kind: str, options: Sequence[Any]) -> int:
        search = self.search
        depth = self.depth
        self.depth += 1
        stack = search.stack
        if depth < len(stack):
            node = stack[depth]
            if tuple(options) != node.options:
                raise Nondeterministic(
                    f"choice {depth}: re-building offered {list(options)}, "
                    f"earlier {list(node.options)}"
                )
            self.count(kind, options, node.current)
            return node.current
        assert self.machine is not None and self.log is not None
        node = search.new_node(kind, options, self.machine, self.log, depth, self.preemptions)
        stack.append(node)
        self.count(kind, options, node.current)
        return node.current


class DfsSearch:
    def __init__(
        self,
        target: Target,
        *,
        reduction: str = "dpor",
        bound: int | None = None,
        piece: Piece | None = None,
        states: bool = True,
        order: str = "continuing",
        visited: dict[bytes, Visit] | None = None,
    ) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}")
        if bound is not None:
            reduction = "none"
        self.target = target
        self.reduction = reduction
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        self.order = order  # which option a new node tries first
        self.bound = bound
        self.piece = replace(piece) if piece is not None else Piece()
        self.stack: list[Node] = []
        self.branch = 0  # the depth whose choice changed for the coming execution
        self.ops: list[Op] = list(self.piece.ops)  # for the nodes above the piece, in order
        self.waiting: str | None = None  # the handed-out piece the search cannot go on without
        self.hit_limit = self.piece.hit_limit  # an execution hit the step limit (`_truncated`)
        # Stateful search: fingerprint -> what was reached there. Off under a preemption bound
        # (a state reached with fewer preemptions could do more).
        # `visited`: one set shared by the pieces of a parallel search that run in this process.
        self.visited: dict[bytes, Visit] | None = None
        if states and bound is None:
            self.visited = {} if visited is None else visited
        self.hit: Visit | None = None  # the visited state that ended the last execution
        self.tally = replace(self.piece.tally) if self.piece.tally is not None else Tally()
        if self.tally.dropped is not None:
            self.visited = None
        self.logged: Steps = []  # the last run's steps
        if self.piece.stack:  # a piece: resume where its last slice stopped
            self.stack = _copied(self.piece.stack)
            self.branch = self.piece.branch
            if self.visited is not None:
                self._relink()

    def _relink(self) -> None:
        """A resumed subtree's nodes keep their states in this process's set: a state its last
        slice searched (elsewhere) becomes this set's entry, with what both found there."""
        assert self.visited is not None
        for node in self.stack:
            carried = node.visit
            if carried is None:
                continue
            kept = self.visited.get(carried.key)
            if kept is None:
                self.visited[carried.key] = carried
            elif kept is not carried:
                kept.merge(carried)
                node.visit = kept

    def continuation(self) -> Piece:
        """Where this search stands: resuming it runs exactly the executions it has left."""
        return replace(
            self.piece,
            stack=_copied(self.stack),
            branch=self.branch,
            ops=tuple(self.ops),
            hit_limit=self.hit_limit,
            tally=replace(self.tally),
        )

    # -------------------------------------------------------------- node creation

    def _carried_sleep(self, log: StepLog) -> dict[Option, Footprint]:
        parent = next((n for n in reversed(self.stack) if n.kind == "step"), None)
        if parent is None:
            return {}
        carried = dict(parent.sleep)
        for k in parent.backtrack:  # the options searched before this one (not one handed out
            if k == parent.current:  # after it, which one process would search later)
                break
            carried[parent.options[k]] = parent.footprints[k]
        start = parent.step
        for p, fp, _ in log.steps[start:]:
            if not carried:
                break
            carried = {u: f for u, f in carried.items() if not _wakes(p, fp, u, f)}
        return carried

    def new_node(
        self,
        kind: str,
        options: Sequence[Any],
        machine: Any,
        log: StepLog,
        depth: int,
        preemptions: int,
    ) -> Node:
        opts = tuple(options)
        if kind != "step":
            every = dict.fromkeys(range(len(opts)))
            return Node(
                kind, opts, (), len(log.steps), 0, every, {0}, {}, preemptions, None, depth=depth
            )
        continuing = log.continuing(opts)
        if self.reduction == "none":
            footprints: tuple[Footprint, ...] = ()
            sleep: dict[Option, Footprint] = {}
        else:
            footprints = tuple(option_footprint(machine, o) for o in opts)
            sleep = self._carried_sleep(log)
        awake = [i for i, o in enumerate(opts) if o not in sleep]
        if self.bound is not None:
            awake = [
                i
                for i in awake
                if preemptions + (continuing is not None and i != continuing) <= self.bound
            ]
        if not awake:
            raise Abort("sleep-blocked")
        visit = None
        if self.visited is not None:
            visit = self._visit(machine, sleep)
        if self.order == "round-robin":
            index = _round_robin(opts, awake, log.last_pe, len(machine.pes))
        elif self.order == "eager":
            index = _eager(opts, awake, log)
        elif self.order == "lazy":
            index = _lazy(opts, awake, continuing)
        else:
            index = continuing if continuing in awake else awake[0]
        # The options in the order they are searched, the first one first.
        backtrack = dict.fromkeys(
            (index,) if self.reduction == "dpor" else (index, *range(len(opts)))
        )
        return Node(
            kind,
            opts,
            footprints,
            len(log.steps),
            index,
            backtrack,
            {index},
            sleep,
            preemptions,
            continuing,
            visit=visit,
            depth=depth,
            began=self.tally.runs,
        )

    # -------------------------------------------------------------- states (stateful search)

    def _visit(self, machine: Machine, sleep: dict[Option, Footprint]) -> Visit | None:
        """Look the state up; end the execution when it has been searched already.

        Only states whose contexts have run a multiple of SAMPLE steps between them are kept:
        which ones is a function of the state, so two paths to one state agree, and every
        path meets one every SAMPLE steps (a step adds one). A fingerprint costs far more than
        the few steps a later match costs."""
        assert self.visited is not None
        if SAMPLE > 1 and sum(c.steps for c in machine.contexts(finished=True)) % SAMPLE:
            return None
        key = fingerprint(machine)
        visit = self.visited.get(key)
        if visit is None:
            visit = self.visited[key] = Visit(key=key)
        elif visit.sleep is not None and not visit.truncated and visit.sleep <= sleep.keys():
            self.hit = visit
            self.tally.saved += visit.cost
            raise Abort("visited")
        return visit

    def _truncated(self) -> None:
        """The execution hit the step limit, or the search dropped its states (and with them
        the summaries of what it does from now on): no state on its path is searched to the
        end, here or in the search it belongs to (`Returned.hit_limit`)."""
        self.hit_limit = True
        for node in self.stack:
            if node.visit is not None:
                node.visit.truncated = True

    def _finished(self, node: Node) -> None:
        """`node`'s subtree is searched: its state holds what was found there."""
        visit = node.visit
        if visit is not None:
            visit.cost = max(visit.cost, self.tally.runs - node.began)
            asleep = frozenset(node.sleep)
            visit.sleep = asleep if visit.sleep is None else visit.sleep & asleep
            join_summary(visit.summary, node.summary)

    # -------------------------------------------------------------- race analysis (DPOR)

    def analyse(self, log: StepLog, machine: Machine, hit: Visit | None = None) -> None:
        """Race analysis after an execution (source-DPOR, Abdulla et al., POPL 2014, with
        Flanagan-Godefroid's treatment of options not taken and of blocked operations).

        A process is what an option names: a context, or an SDEI event, interrupt or wake-up
        taken on a PE. For every process's next step at each state from the branch point on
        (the step taken, the options not taken, blocked operations), each earlier step i it
        races with (dependent, another process, not happening before it) is reversed: at the
        state before i, one of the processes that could start the reordered sequence (an
        "initial") is scheduled, unless one already is."""
        at: dict[int, Node] = {}
        for node in self.stack:
            if node.kind == "step":
                at.setdefault(node.step, node)
        start = self.stack[self.branch].step if self.branch < len(self.stack) else len(log.steps)
        released = [section for section in log.sections if section.released]
        state, nexts = self._reverse_races(log, at, released, start)
        # A section that waited is freed above; if its end turns out to come after another
        # thread of its PE by a way not through its taking, it keeps its order, and the
        # races are looked for again without it freed - from its taking, if in the replayed
        # prefix. (Rare: the reversals made on the way are only more than were needed.)
        waited = [section for section in released if section.waits]
        kept = _waited_on_kept(state.steps, at, log, waited, state.step_clocks) if waited else ()
        if kept:
            released = [section for section in released if section.start not in kept]
            start = min(start, *kept)
            state, nexts = self._reverse_races(log, at, released, start)
        steps = state.steps
        # Where the run stopped (a deadlock, a violation, the step limit), what each live
        # process would do next still races with what ran.
        end = len(steps)
        if end >= start:
            for q, (qfp, stamp) in nexts.items():
                if state.touched(qfp) != stamp:
                    state.races(q, qfp, end)
            self._never_taken(machine, state, nexts, end)
            for q, spawning in log.spawned.items():  # kept out from its spawning to the end
                if q not in state.seen and not machine.context(q[2]).done:
                    _join(state.clocks.setdefault(q, {}), state.step_clocks[spawning])
                    state.races(q, machine.footprint(q), end)
        if hit is not None:  # the run stopped at a state searched before: what it did there
            before = [(node, set(node.backtrack)) for node in self.stack if not node.fixed]
            for roots, resources in hit.summary.items():
                state.races(roots[0], tuple(resources), end, state.joined(roots))
            for node, had in before:
                if len(node.backtrack) > len(had):
                    node.by_hit.update(node.backtrack.keys() - had)
        if self.visited is not None:
            self._summarise(state, start, hit)
        # A handler that never ended kept what it interrupted from running to the end: had
        # that gone first, it might have run on (released what the handler waits for).
        for handler, under in log.blocked.items():
            if machine.context(handler[2]).done:
                continue
            for q, anchor in under.items():
                taken = at.get(anchor)
                if machine.context(q[2]).done:
                    continue
                state.reverse(taken, anchor, q, state.clocks.get(q, {}), end)

    def _searching(self, node: Node, k: int | None) -> None:
        """`node` goes on to option k (None: it is done): count the executions under an
        option a state met again scheduled (`Tally`)."""
        tally = self.tally
        if tally.inside == node.depth:
            tally.spent += tally.runs - tally.inside_began
            tally.inside = None
        if k is not None and tally.inside is None and k in node.by_hit:
            tally.inside, tally.inside_began = node.depth, tally.runs

    def _reverse_races(
        self, log: StepLog, at: dict[int, Node], released: Sequence[Section], start: int
    ) -> tuple[_Analysis, dict[Option, tuple[Footprint, int]]]:
        """The main pass of `analyse`: clocks for every step, and the races of the steps from
        `start` on reversed. The takings of `released` are freed of their `sched:N` write
        (the PE's other threads read it at every step): such a section, begun earlier, runs
        to its end the same way, so where it starts among their steps matters only through
        what it touches - a race with one of its steps, which `_Analysis.races` reverses to
        before it began. One that did not end keeps its write, and so does one that waited (a
        lock, a condition) on a step of another thread of its PE (`_waited_on_kept`): holding
        the PE while waiting, begun before that step, it could wait for good.
        Returns the analysis and what each live process will do next where the run stopped,
        with how many accesses its resources had when its races were last looked for."""
        steps = _freed(log.steps, released) if released else log.steps
        free = {section.start: _sched(section) for section in released}
        state = _Analysis(steps, at, log.blocked, log.sections, ops=self.ops)
        # process -> (its step before, the freed taking, the write it no longer makes): from
        # the one to the other, what it will do next is that taking
        freed_next: dict[Option, list[tuple[int, int, tuple[str, bool]]]] = {}
        if free:
            last: dict[Option, int] = {}
            for k, (q, _, _) in enumerate(steps):
                if k in free:
                    freed_next.setdefault(q, []).append((last.get(q, -1), k, free[k]))
                last[q] = k

        def coming(o: Option, ofp: Footprint, j: int) -> Footprint:
            """The footprint of o's next step at state j, a freed taking's write left out."""
            for before, k, write in freed_next.get(o, ()):
                if before < j <= k:
                    return _unheld(ofp, write)
            return ofp

        # What each live process will do next, and how many accesses to its resources there
        # were when its races were last looked for.
        nexts: dict[Option, tuple[Footprint, int]] = {}
        for j, (p, fp, after) in enumerate(steps):
            found = at.get(j)
            state.offer(j, found.options if found is not None else (p,), log.spawned)
            offered: tuple[Option, ...] = (p,)
            if found is not None and found.footprints:
                offered = found.options
                if freed_next:
                    found_fps = tuple(
                        coming(o, ofp, j)
                        for o, ofp in zip(found.options, found.footprints, strict=True)
                    )
                else:
                    found_fps = found.footprints
                if j >= start and self.visited is not None:
                    state.offered[j] = [
                        (o, ofp, state.clocks.get(o, {}))
                        for o, ofp in zip(found.options, found_fps, strict=True)
                        if o != p
                    ]
                for o, ofp in zip(found.options, found_fps, strict=True):
                    nexts[o] = (ofp, state.touched(ofp) if j >= start else -1)
            if j >= start:
                if found is not None and found.footprints:
                    for o, ofp in zip(found.options, found_fps, strict=True):
                        state.races(o, ofp, j)
                else:
                    state.races(p, fp, j)
                for q, (qfp, stamp) in list(nexts.items()):
                    if q in offered:
                        continue
                    touched = state.touched(qfp)
                    if touched != stamp:
                        state.races(q, qfp, j)
                        nexts[q] = (qfp, touched)
            state.step(j, p, fp)
            if after is None:
                nexts.pop(p, None)
            else:
                nexts[p] = (coming(p, after, j + 1) if freed_next else after, -1)
        return state, nexts

    @staticmethod
    def _never_taken(
        machine: Machine, state: _Analysis, nexts: dict[Option, Any], end: int
    ) -> None:
        """An interrupt left pending on a PE whose IRQs stayed masked to the end was never
        offered, so nothing it races with was seen: taking it (after what raised it) races
        with the masking, which could have come after it."""
        for pe in machine.pes:
            if pe.power is not Power.ON or not pe.pstate & PSTATE_I:
                continue
            for intid in machine.gic.deliverable(pe.index, pe.mpidr)[:1]:
                q: Option = ("irq", pe.index, intid)
                if q not in nexts:
                    raiser = state.writer.get(irq_resource(intid, pe.index))
                    raised = state.step_clocks[raiser[0]] if raiser is not None else {}
                    state.races(q, machine.footprint(q), end, raised)

    def _summarise(self, state: _Analysis, start: int, hit: Visit | None) -> None:
        """Add this execution's new steps to the summaries of the states on its path.

        A step joins a state's summary under its roots there: the processes live at the state
        (offered there, or run before it) whose next step happens before it. A later visit to
        the state sees it as those processes' next step (what a race with it reverses: they
        must move first), with their clocks there, as DPOR treats any process's next step."""
        nodes = [n for n in self.stack if n.visit is not None]
        if not nodes:
            return
        first = state.first
        # The processes live at each state: offered there, or run before it.
        live = [
            (node, {*node.options, *(q for q, f in first.items() if f < node.step)})
            for node in nodes
        ]
        steps, step_clocks, offered = state.steps, state.step_clocks, state.offered
        # resource -> its last write so far: an access after a write in a state's subtree is
        # ordered after that write, which a step before the state races with first (the race
        # analysis looks no further back than the last write), so it is left out there
        written: dict[str, int] = {}
        for k, (_, fp, after) in enumerate(steps):
            if k >= start:
                for o, ofp, clock in offered.get(k, ()):  # not taken, and blocked operations
                    _attribute(live, {**clock, o: k + 1}, _since(ofp, written))
                _attribute(live, step_clocks[k], _since(fp, written))
            for r, w in fp:
                if w:
                    written[r] = k
            if after and k >= start:
                _attribute(live, step_clocks[k], _since(after, written))
        if hit is not None:
            end = len(steps)
            for roots, done in hit.summary.items():
                clock = state.joined(roots)
                clock.update((q, end + 1) for q in roots)
                _attribute(live, clock, _since(tuple(done), written))

    # -------------------------------------------------------------- the loop

    def advance(self) -> bool:
        """Pick the next branch: each node's options in the order they were added to its
        backtrack set. False when the piece is exhausted, or when the next is an option handed
        out whose piece has not come back (`waiting` names it)."""
        stack, base = self.stack, self.piece.base
        while len(stack) > base:
            node = stack[-1]
            k = self._next_option(node, waits=True)
            if k is not None:
                waited = node.handed.get(k)
                if waited is not None:
                    self.waiting = waited
                    return False
                node.current = k
                self.branch = len(stack) - 1
                self._searching(node, k)
                return True
            done = stack.pop()
            self._searching(done, None)
            if self.visited is not None:
                self._finished(done)
        return False

    def _next_option(self, node: Node, *, waits: bool = False) -> int | None:
        """The node's next option to search (now marked done) - with `waits`, or one handed
        out before it whose piece has not come back; None when there is none."""
        for k in node.backtrack:
            if k in node.done:
                if waits and k in node.handed:
                    return k
                continue
            node.done.add(k)
            if node.kind == "step" and node.options[k] in node.sleep:
                continue
            if self.bound is not None and node.preemptions + node.cost(k) > self.bound:
                continue
            return k
        return None

    # -------------------------------------------------------------- pieces (parallel search)

    def hand_out(self) -> Piece | None:
        """Hand the next option of the shallowest node that has one to another worker as a
        piece (this search then waits for it there), or None when there is none."""
        stack = self.stack
        for depth in range(self.piece.base, len(stack)):
            node = stack[depth]
            k = self._next_option(node)
            if k is None:
                continue
            above = _copied(stack[: depth + 1])
            for n in above:
                n.fixed = True
                n.handed = {}
                n.summary = {}
            above[-1].current = k
            self.piece.handed += 1
            ident = f"{self.piece.ident}.{self.piece.handed}"
            node.handed[k] = ident
            # its counts go on with it (stateless if they were dropped here)
            counts = replace(self.tally, inside=None)
            return Piece(above, depth + 1, depth, ident, tally=counts)
        return None

    def take_in(self, back: Returned) -> None:
        """Take in a piece handed out from here that was searched to the end, where this
        search waits for it: its ops on this piece's nodes are made (the rest kept for the
        nodes above), its summaries joined to those of the nodes above it, and a step limit it
        hit marks their states unfinished too."""
        for node in self.stack:
            option = next((k for k, v in node.handed.items() if v == back.ident), None)
            if option is not None:
                del node.handed[option]
                break
        else:
            raise ValueError(f"piece {back.ident} was not handed out from {self.piece.ident}")
        base = self.piece.base
        for depth, chosen in back.ops:
            if depth < base:
                self.ops.append((depth, chosen))
            else:
                add_backtrack(self.stack[depth], chosen)
        for depth, summary in back.summaries.items():
            join_summary(self.stack[depth].summary, summary)
        if back.hit_limit:
            self._truncated()

    def returned(self) -> Returned:
        """What this piece, searched to the end, gives back to the search it came from."""
        above = self.stack[: self.piece.base]
        summaries = {d: n.summary for d, n in enumerate(above) if n.summary}
        return Returned(self.piece.ident, tuple(self.ops), summaries, self.hit_limit)

    def can_hand_out(self) -> bool:
        """Has a node of this piece an option not searched yet (`hand_out`)?"""
        return any(any(k not in n.done for k in n.backtrack) for n in self.stack[self.piece.base :])

    def run(
        self,
        budget: Budget,
        progress: Progress | None = None,
        *,
        visit: Visitor | None = None,
        pause: Callable[[], bool] | None = None,
    ) -> SearchResult:
        """Search until a violation, the end of the tree (or of what this piece can do before
        a piece it handed out comes back: `waiting`) or the budget. With `visit`, every
        execution is handed to it and the search goes on past violations. `pause()`, asked
        after each execution, stops it early (cut "paused"), to be resumed."""
        result = SearchResult(NAME, 0, bound=self.bound, reduction=self.reduction)
        tick = Ticker(progress)
        # Each execution leaves its machine as garbage in cycles (generators, observers): the
        # collector's own schedule found it only after promoting it, and rescanned the search
        # each time. Collected here instead, the young objects after each execution, all of
        # them now and then.
        collecting = gc.isenabled()
        gc.disable()
        try:
            while self._execution(budget, result, visit):
                gc.collect(0 if result.executions % FULL_COLLECTION else 2)
                tick(budget.used)
                if pause is not None and pause():
                    result.cut = "paused"
                    break
        finally:
            if collecting:
                gc.enable()
        tick(budget.used, force=True)
        return result

    def _weigh_states(self, result: SearchResult) -> None:
        """Drop the states when they do not pay (`Tally`)."""
        tally = self.tally
        if tally.runs < CHECK_FROM or tally.runs % CHECK_EVERY or tally.pays():
            return
        self._truncated()
        self.visited = None
        tally.dropped = tally.runs
        result.notes.append(_dropped_note(tally))

    def _execution(self, budget: Budget, result: SearchResult, visit: Visitor | None) -> bool:
        """One execution and its race analysis; False when the search is over."""
        why = budget.exhausted()
        if why is not None:
            result.cut = why
            return False
        chooser = _Chooser(self)
        machine, execution = execute(self.target, chooser)
        budget.used += 1
        result.executions += 1
        self.tally.runs += 1
        if execution.status == "pruned":
            result.pruned += 1
        elif execution.status == "step-limit":
            result.step_limit_hits += 1
        if visit is not None:
            visit(machine, execution)
        elif execution.violation is not None:
            result.found = execution
            return False
        hit, self.hit = self.hit, None
        if chooser.log is not None:
            self.logged = chooser.log.steps
        if self.reduction == "dpor" and (execution.status != "pruned" or hit is not None):
            assert chooser.log is not None
            self.analyse(chooser.log, machine, hit)
        if self.visited is not None:
            if execution.status == "step-limit":
                self._truncated()
            result.states = len(self.visited)
            self._weigh_states(result)
        if not self.advance():
            result.complete = self.waiting is None
            return False
        return True


DROPPED = "states dropped"  # how the verdict's note on it begins


def _dropped_note(tally: Tally) -> str:
    if tally.saved == 0:
        return f"{DROPPED} after {tally.runs:,} executions: none was met again"
    return (
        f"{DROPPED} after {tally.runs:,} executions: states met again saved about "
        f"{tally.saved:,} executions, and the branches their summaries' races scheduled took "
        f"{tally.spent:,}"
    )


def search(
    target: Target,
    budget: Budget,
    seed: int = 0,
    *,
    reduction: str = "dpor",
    bound: int | None = None,
    progress: Progress | None = None,
    states: bool = True,
    openings: bool = True,
) -> SearchResult:
    """Exhaustive search (the seed only labels the report: dfs draws no random numbers).
    `openings=False`: the caller ran `probe` already."""
    result = probe(target, budget, reduction=reduction, bound=bound) if openings else None
    if result is None or (result.found is None and not result.complete and result.cut is None):
        searcher = DfsSearch(target, reduction=reduction, bound=bound, states=states)
        result = finish(result, searcher.run(budget, progress))
    result.seed = seed
    return result


def probe(
    target: Target, budget: Budget, *, reduction: str, bound: int | None
) -> SearchResult | None:
    """The dfs's opening: the same search under other first schedules (OPENINGS), each cut
    after a few executions. The continuing-first order reaches a race that needs a thread
    preempted early only after the variations of every later step; round robin (each new
    choice point tries the PE after the one that stepped last) preempts at once; eager
    delivery (an interrupt or event taken as soon as it can be, the interrupted thread going
    on) runs handlers late, under whatever arrives next; lazy delivery (an interrupt or event
    taken only when no thread can run) keeps one pending while the threads move on, until a
    PE is in the state where taking it goes wrong. The executions are real ones and
    count; an opening that exhausts the tree is a complete search. Stateless: in a few
    executions nearly every state is new, and a fingerprint costs more than the steps a match
    would save. Only with DPOR: without it a search's size is the number of interleavings (or
    of sleep-set classes), exactly, and None under a preemption bound (another order would
    spend it first)."""
    if not probes(reduction, bound) or budget.exhausted() is not None:
        return None
    result: SearchResult | None = None
    for order, executions in OPENINGS:
        searcher = DfsSearch(target, reduction=reduction, states=False, order=order)
        part = searcher.run(budget.slice(None, executions))
        budget.used += part.executions
        if part.cut == "executions":  # the opening's own limit, unless the search's is reached
            part.cut = budget.exhausted()
        result = finish(result, part)
        if result.found is not None or result.complete or result.cut is not None:
            break
    return result


def probes(reduction: str, bound: int | None) -> bool:
    """Does the dfs open with `probe` under this reduction and bound?"""
    return reduction == "dpor" and bound is None


def finish(opening: SearchResult | None, rest: SearchResult) -> SearchResult:
    """The search that follows the probe, with the probe's executions counted in."""
    if opening is None:
        return rest
    opening.absorb(rest)
    opening.complete, opening.cut = rest.complete, rest.cut
    return opening


TAKES = ("irq", "sdei")  # options that stack a handler on their PE
ORDERS = ("continuing", "round-robin", "eager", "lazy")  # a new node's first option
OPENINGS = (("round-robin", 8), ("eager", 8), ("lazy", 128))  # `probe`'s orders, executions
FULL_COLLECTION = 500  # executions between full collections (`DfsSearch.run`)
# A stateful search keeps one state in about this many (`DfsSearch._visit`). Which ones
# matters: at 8, L3's proof took 17,430 executions, and 2,776 with the kept states shifted by
# three steps; at 4 it takes 5,642, B7 at 6 CPUs 1,166 (4,108 at 8) and L6's proof 1,272 (1,909).
SAMPLE = 4


def _round_robin(opts: tuple[Any, ...], awake: list[int], last_pe: int | None, pes: int) -> int:
    """The first option awake on the PE after the one that stepped last, cyclically."""
    if last_pe is None:
        return awake[0]
    return min(awake, key=lambda i: ((opts[i][1] - last_pe - 1) % pes, i))


def _eager(opts: tuple[Any, ...], awake: list[int], log: StepLog) -> int:
    """An interrupt or event is taken as soon as it is deliverable, and the thread that ran
    before it goes on: a handler runs only when the threads around it stop."""
    for i in awake:
        if opts[i][0] in TAKES:
            return i
    for key, _, _ in reversed(log.steps):
        if key[0] == "run":
            for i in awake:
                if opts[i] == key:
                    return i
            break
    return awake[0]


def _lazy(opts: tuple[Any, ...], awake: list[int], continuing: int | None) -> int:
    """The thread that ran goes on; else another thread; an interrupt or event is taken only
    when no thread can run."""
    if continuing in awake:
        return continuing
    for i in awake:
        if opts[i][0] not in TAKES:
            return i
    return awake[0]


def _own_state(take: Option) -> tuple[str, ...]:
    """What raising the interrupt or event an option takes writes (`sdei.machine.footprints`):
    an interrupt's own `irq:N` (banked per PE for SGIs and PPIs), an event's part of the
    dispatcher (its PE's, or the shared events')."""
    what, pe, number = take
    if what == "irq":
        return (irq_resource(number, pe),)
    return (pe_part(pe)[0], SHARED[0])


def _wakes(step: Option, fp: Footprint, asleep: Option, asleep_fp: Footprint) -> bool:
    """Does a step end `asleep`'s place in the sleep set? When it is dependent, and when it is
    an interrupt or SDEI event that would stack on a context stepping on its PE: taking it
    stops that context until the handler ends, so what the context does now is ordered against
    the whole handler, whose steps are not known yet."""
    if asleep[0] in TAKES and step[0] == "run" and step[1] == asleep[1]:
        return True
    if step[0] == "run" and asleep[0] == "run" and step[1] == asleep[1]:
        # Two threads of one PE: a taking of the PE (a `sched:N` write) does not wake a step
        # that only runs when the PE lets it (a read). That step, asleep, was explored before
        # the taking, and after the section it is the same step in the same state (a section
        # that waits for it for good ends the run here, with it kept out). The other way
        # round it does: an asleep taking's section was explored before the step and may now
        # go otherwise (wait no longer). Two takings stay dependent: the sections they begin
        # touch per-CPU data unnamed.
        taking = (f"sched:{step[1]}", True)
        if taking in fp and taking not in asleep_fp:
            fp = tuple(r for r in fp if r != taking)
    return dependent(asleep_fp, fp)


def _since(fp: Footprint, written: dict[str, int]) -> list[tuple[str, bool, int]]:
    """`fp`'s accesses, each with the last write of its resource before it (-1: none)."""
    return [(r, w, written.get(r, -1)) for r, w in fp]


def _attribute(
    nodes: list[tuple[Node, set[Option]]],
    clock: dict[Option, int],
    accesses: list[tuple[str, bool, int]],
) -> None:
    """Add a step (its clock, its accesses with their resources' last writes before it) to
    the summary of every node it comes after, under its roots there (see
    `DfsSearch._summarise`): the accesses whose last write came before the node's state.
    `nodes` pairs each node with the processes live at it."""
    latest = max(clock.values(), default=0)
    for node, live in reversed(nodes):
        n = node.step
        if n >= latest:
            continue  # the step came before this state
        fp = [(r, w) for r, w, last in accesses if last < n]
        if not fp:
            break  # nodes further up have the same writes and more in between
        after = [q for q, c in clock.items() if c > n]
        roots = [q for q in after if q in live] or after  # none: every process since
        key = tuple(sorted(roots))
        found = node.summary.get(key)
        if found is None:
            node.summary[key] = set(fp)
        else:
            found.update(fp)


def _sched(section: Section) -> tuple[str, bool]:
    return (f"sched:{section.holder[1]}", True)


def _freed(steps: Steps, sections: Sequence[Section]) -> Steps:
    """The steps with each section's taking freed of its `sched:N` write."""
    freed = list(steps)
    for section in sections:
        k = section.start
        p, fp, after = freed[k]
        freed[k] = (p, _unheld(fp, _sched(section)), after)
    return freed


def _waited_on_kept(
    steps: Steps,
    at: dict[int, Node],
    log: StepLog,
    waited: Sequence[Section],
    clocks: Sequence[dict[Option, int]],
) -> set[int]:
    """The sections that waited and whose end comes after a step of another context of
    their PE by a way that does not pass through their taking (the start of each section
    that did). `steps` have the takings freed, and `clocks` are the race analysis' step
    clocks over them. The end's order is those clocks' with the releases added: a step on a
    PE comes after every step that let go of that PE before it (a section's end, unmasking,
    a handler's end) - what a thread kept out, or an interrupt masked, does once let go
    comes after the letting go. Without them a section waiting on another CPU that waits,
    with IRQs off or in a section of its own, on what this CPU's other thread does looks
    free of it. The taking's order is the race analysis' alone: with the releases it could
    come after that thread's step through a handler's end that it need not have waited
    for, which would hide the dependence (the tests hold both reviews' programs)."""
    # Only a section whose PE ran another thread's step, up to its end, that its taking does
    # not come after can be kept: the others need no second order.
    latest: dict[Option, int] = {}  # thread -> its latest step so far, plus one
    maybe: list[Section] = []
    scanned = 0
    for section in sorted(waited, key=lambda s: s.end or 0):
        for j in range(scanned, (section.end or 0) + 1):
            q = steps[j][0]
            if q[0] == "run":
                latest[q] = j + 1
        scanned = max(scanned, (section.end or 0) + 1)
        pe, holder, began = section.holder[1], section.holder, clocks[section.start]
        if any(q[1] == pe and q != holder and n > began.get(q, 0) for q, n in latest.items()):
            maybe.append(section)
    if not maybe:
        return set()
    # Only the components the test reads are counted (those of the threads of the holders'
    # PEs: a vector clock's components are independent of each other).
    pes = {section.holder[1] for section in maybe}
    last = max(section.end or 0 for section in maybe)
    threads = {p for p, _, _ in steps[: last + 1] if p[0] == "run" and p[1] in pes}
    order = _Analysis(steps, at, {}, counted=threads, releases=log.let_go)
    for j in range(last + 1):
        p, fp, _ = steps[j]
        found = at.get(j)
        order.offer(j, found.options if found is not None else (p,), log.spawned)
        order.step(j, p, fp)
    kept: set[int] = set()
    for section in maybe:
        pe, holder = section.holder[1], section.holder
        began, ended = clocks[section.start], order.step_clocks[section.end or 0]
        if any(q[1] == pe and q != holder and c > began.get(q, 0) for q, c in ended.items()):
            kept.add(section.start)
    return kept


def _unheld(fp: Footprint, write: tuple[str, bool]) -> Footprint:
    """A freed taking's footprint: it writes `held:N` instead of `sched:N`. The sections of
    one PE stay ordered among themselves (per-CPU data is touched inside them, unnamed),
    and no longer against every step of the PE's threads."""
    held = ("held" + write[0][5:], True)
    return tuple(held if r == write else r for r in fp)


def _copied(nodes: list[Node]) -> list[Node]:
    """A deep copy (a pickle's round trip: ten times faster than `copy.deepcopy` here)."""
    copied: list[Node] = pickle.loads(pickle.dumps(nodes, pickle.HIGHEST_PROTOCOL))
    return copied


def add_backtrack(node: Node, chosen: tuple[int, ...]) -> None:
    """Schedule `chosen[0]` at the node unless one of `chosen` is already (source-DPOR's
    initials, Abdulla et al. 2014); every option for ()."""
    backtrack = node.backtrack
    if not chosen:
        for k in range(len(node.options)):
            backtrack.setdefault(k)
    elif not any(k in backtrack for k in chosen):
        backtrack[chosen[0]] = None


def join_summary(into: Summary, other: Summary) -> None:
    """Add what `other` says each group of processes did to `into`."""
    for roots, resources in other.items():
        into.setdefault(roots, set()).update(resources)


def _join(into: dict[Option, int], other: dict[Option, int]) -> None:
    for key, value in other.items():
        if into.get(key, 0) < value:
            into[key] = value


class _Analysis:
    """Vector clocks over processes, and the race reversal."""

    def __init__(
        self,
        steps: Steps,
        at: dict[int, Node],
        blocked: dict[Option, dict[Option, int]],
        sections: Sequence[Section] = (),
        *,
        counted: set[Option] | None = None,
        releases: Sequence[int] = (),
        ops: list[Op] | None = None,
    ) -> None:
        """`counted`: the only processes whose steps the clocks count (None: all).
        `releases`: steps after which every later step on their PE comes after them (the
        lettings go of `_waited_on_kept`). `ops`: where the changes to fixed nodes go."""
        self.steps = steps
        self.ops = ops
        self.counted = counted
        self.releases = set(releases)
        self.since: dict[int, dict[Option, int]] = {}  # PE -> every release on it so far
        self.at = at
        self.blocked = blocked
        self.sections = sections
        # step index -> the section its holder was in when it took that step
        self.holding: dict[int, Section] = {}
        for section in sections:
            holder, last = section.holder, section.end
            stop = len(steps) if last is None else last + 1
            for k in range(section.start + 1, stop):
                if steps[k][0] == holder:
                    self.holding[k] = section
        self.clocks: dict[Option, dict[Option, int]] = {}  # process -> after its last step
        self.step_clocks: list[dict[Option, int]] = []
        self.writer: dict[str, tuple[int, Option]] = {}  # resource -> its last write's step
        # resource -> its readers since the last write: each one's latest clock (a process's
        # clocks only grow, so that is the join of all its reads), and every read, in order
        self.reads: dict[str, dict[Option, dict[Option, int]]] = {}
        self.read_steps: dict[str, list[tuple[int, Option]]] = {}
        self.count: dict[str, int] = {}  # resource -> how many accesses it has had
        self.first: dict[Option, int] = {}  # process -> the index of its first step
        # step index -> the options offered there and not taken, with their clocks then
        self.offered: dict[int, list[tuple[Option, Footprint, dict[Option, int]]]] = {}
        self._ends: dict[Option, int] | None = None  # handler -> its last step (`_kept_out`)
        self.seen: set[Option] = set()  # the processes offered so far

    def offer(self, j: int, now: Sequence[Option], spawned: dict[Option, int]) -> None:
        """The processes offered at state j: one offered for the first time comes after step
        j-1, which enabled it - but an interrupt or event only after what raised it (ordered
        by its resource: unmasking is no write), and a spawned thread only after its spawning
        (a handler's or section's end that let it run first is a release)."""
        seen = self.seen
        if j:
            for q in now:
                if q in seen or q[0] in TAKES:
                    continue
                spawner = spawned.get(q)
                source = self.step_clocks[j - 1 if spawner is None else spawner]
                _join(self.clocks.setdefault(q, {}), source)
        seen.update(now)

    def _kept_out(self, p: Option, i: int) -> int | None:
        """The earliest step that stacked a handler keeping p from running at step i (p was
        blocked under it from that step until the handler's end), if any: p's step could have
        come before step i only from before that step."""
        ends = self._ends
        if ends is None:  # each handler's last step (its end writes `done:N`)
            ends = self._ends = {}
            for k, (q, fp, _) in enumerate(self.steps):
                if q in self.blocked and (f"done:{q[2]}", True) in fp:
                    ends[q] = k
        found: int | None = None
        for handler, under in self.blocked.items():
            anchor = under.get(p)
            if anchor is not None and anchor < i < ends.get(handler, len(self.steps)):
                found = anchor if found is None else min(found, anchor)
        return found

    def _section_start(self, p: Option, i: int) -> int | None:
        """The start of the section that kept thread p from running before step i, if any."""
        for section in self.sections:
            if section.keeps_out(p, i):
                return section.start
        return None

    def touched(self, fp: Footprint) -> int:
        count = self.count
        return sum(count.get(r, 0) for r, _ in fp)

    def _after(self, clock: dict[Option, int], fp: Footprint, own: Option | None = None) -> None:
        """Join into `clock` what a step with footprint `fp` would come after now. `own`: the
        process whose clock `clock` already is (its own steps are in it, not joined again)."""
        writer, reads, step_clocks = self.writer, self.reads, self.step_clocks
        joined = -1  # a step just joined (a step often writes several resources)
        for r, w in fp:
            last = writer.get(r)
            if last is not None and last[1] != own and last[0] != joined:
                joined = last[0]
                _join(clock, step_clocks[joined])
            if w:
                readers = reads.get(r)
                if readers:
                    for q, rc in readers.items():
                        if q != own:
                            _join(clock, rc)

    def step(self, j: int, p: Option, fp: Footprint) -> dict[Option, int]:
        clock = dict(self.clocks.get(p, {}))
        releases = self.releases
        if releases:
            released = self.since.get(p[1])
            if released:
                _join(clock, released)
        self._after(clock, fp, p)
        if self.counted is None or p in self.counted:
            clock[p] = j + 1
        self.first.setdefault(p, j)
        writer, reads, count, read_steps = self.writer, self.reads, self.count, self.read_steps
        for r, w in fp:
            if w:
                writer[r] = (j, p)
                reads.pop(r, None)
                read_steps.pop(r, None)
            else:
                readers = reads.get(r)
                if readers is None:
                    reads[r] = {p: clock}
                    read_steps[r] = [(j, p)]
                else:
                    readers[p] = clock
                    read_steps[r].append((j, p))
            count[r] = count.get(r, 0) + 1
        self.clocks[p] = clock
        self.step_clocks.append(clock)
        if releases and j in releases:
            _join(self.since.setdefault(p[1], {}), clock)
        return clock

    def joined(self, processes: Sequence[Option]) -> dict[Option, int]:
        """What every one of `processes` has after it (their clocks joined)."""
        clock: dict[Option, int] = {}
        for q in processes:
            _join(clock, self.clocks.get(q, {}))
        return clock

    def races(
        self, p: Option, fp: Footprint, j: int, clock: dict[Option, int] | None = None
    ) -> None:
        """Reverse every race of process p's next step (footprint `fp`, at state j; `clock`
        what it comes after, p's own by default). A thread's stable wait has none: running it
        earlier could only find it still waiting. A handler's has: still waiting there keeps
        what it interrupted from running (a deadlock, if that is what it waits for)."""
        if STABLE_WAIT in fp and p not in self.blocked:
            return
        if clock is None:
            clock = self.clocks.get(p, {})
        found: set[int] = set()
        inside: set[int] = set()  # handlers' takings inside a section that kept p out
        blocked, sections, holding = self.blocked, self.sections, self.holding
        writer, read_steps = self.writer, self.read_steps

        def race(i: int, q: Option) -> None:
            if clock.get(q, 0) <= i:  # not ordered before p: a race
                # With a handler that kept p from running (q itself, or one stacked while
                # step i ran), p's step could only have gone first had it run before the
                # handler was taken.
                under = blocked.get(q)
                anchor = under.get(p) if under is not None else None
                if anchor is None and blocked:
                    anchor = self._kept_out(p, i)
                if anchor is None:
                    # With a thread holding p's PE (q itself, in that section), only from
                    # before it took the PE.
                    section = holding.get(i)
                    if section is not None and p in section.kept:
                        anchor = section.start
                elif sections:
                    began = self._section_start(p, anchor)
                    if began is not None:
                        # A section kept p out when the handler was taken: p goes first from
                        # before the section began, or once it has ended, if the taking can
                        # wait until then (reordered there, with the section's holder first)
                        inside.add(anchor)
                        anchor = began
                found.add(i if anchor is None else anchor)

        for r, w in fp:
            # A write races with the reads since the last write, a read only with that write
            # (earlier accesses all happen before it); p's own accesses are ordered.
            if w:
                for i, q in read_steps.get(r, ()):
                    if q != p:
                        race(i, q)
            last = writer.get(r)
            if last is not None and last[1] != p:
                race(*last)
        if not found:
            return
        full = dict(clock)  # what p's step would depend on if it ran at state j
        self._after(full, fp)
        steps, step_clocks = self.steps, self.step_clocks
        for i in found | inside:
            qi = steps[i][0]
            if i not in inside and any(k > i and step_clocks[k].get(qi, 0) > i for k in found):
                continue  # not an immediate race: i happens before another racing step
            node = self.at.get(i)
            if self._enabled_by(i, node, p):
                continue
            self.reverse(node, i, p, full, j)

    def _enabled_by(self, i: int, node: Node | None, p: Option) -> bool:
        """Is step i what raised the interrupt or event p takes? A thread's step (`run`) that
        wrote p's own state (its interrupt's `irq:N`, or the dispatcher part of its PE or the
        shared events), with p offered right after i and not before. Then p comes after i in
        every run, and the only other way to raise it writes the same state, so it races with
        i instead: nothing to reverse here. Only then: a thread's step (a wait, a switch) may
        have enablers independent of each other, which a skipped race would never reorder."""
        if p[0] not in TAKES:
            return False
        raiser, written, _ = self.steps[i]
        if raiser[0] != "run":
            return False
        own = _own_state(p)
        if not any(write and name in own for name, write in written):
            return False
        before = node.options if node is not None else (raiser,)
        if p in before:
            return False
        after = self.at.get(i + 1)
        if after is not None:
            return p in after.options
        return i + 1 < len(self.steps) and self.steps[i + 1][0] == p

    def _add(self, node: Node, chosen: tuple[int, ...]) -> None:
        if node.fixed:  # above this piece: for the search it belongs to
            assert self.ops is not None
            self.ops.append((node.depth, chosen))
        else:
            add_backtrack(node, chosen)

    def reverse(
        self, node: Node | None, i: int, p: Option, clock: dict[Option, int], j: int
    ) -> None:
        """Schedule at the state before step i (`node`; None where it was the only option)
        an initial of the reordered sequence."""
        steps, step_clocks = self.steps, self.step_clocks
        qi = steps[i][0]
        first: dict[Option, int] = {}  # process -> its first step in v
        initials: list[Option] = []
        for k in range(i + 1, j):
            ck = step_clocks[k]
            if ck.get(qi, 0) > i:
                continue  # happens after i: stays after it
            qk = steps[k][0]
            if qk in first:
                continue
            if not any(ck.get(q, 0) > f for q, f in first.items()):
                initials.append(qk)
            first[qk] = k
        if p not in first and not any(clock.get(q, 0) > f for q, f in first.items()):
            initials.append(p)
        if node is not None:
            index = {o: n for n, o in enumerate(node.options)}
            # Taking an interrupt or an event stops what runs on its PE until the handler
            # ends: a reordering that starts with it may be unable to go on as `v` does. Any
            # other initial can, so one of those is scheduled when there is one.
            enabled = [q for q in initials if q in index]
            chosen = [q for q in enabled if q[0] not in TAKES] or enabled
            if chosen:
                self._add(node, tuple(index[q] for q in chosen))
                return
        # A handler's step: what it kept from running can only go first from before it was
        # taken.
        under = self.blocked.get(qi)
        if under is not None:
            for q in initials:
                anchor = under.get(q)
                if anchor is not None and anchor < i:
                    self.reverse(self.at.get(anchor), anchor, p, clock, j)
                    return
        # An initial a thread kept from running by holding its PE: from before it took it.
        for q in initials:
            held = self._section_start(q, i) if self.sections else None
            if held is not None:
                self.reverse(self.at.get(held), held, p, clock, j)
                return
        if node is not None:
            self._add(node, ())
