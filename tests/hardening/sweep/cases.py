"""Hypothesis strategies: a case is a task, its arguments, its stdin and its environment."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from backend.app.core.keys import BASE62
from tests.hardening.sweep.runs import STDIN_PASSWORD, Seed, TaskSpec
from tests.hardening.sweep.values import BY_TASK, ENVIRONMENT, HOSTILE, PROFILES, REALISTIC


def mutated(value: str) -> st.SearchStrategy[str]:
    """``value`` with one character replaced, inserted or dropped (a mistyped key or email)."""
    if not value:
        return st.just(value)

    def change(pos: int, char: str, how: int) -> str:
        if how == 0:
            if char == value[pos]:  # really changed, whatever random key the seeding made
                if char in BASE62:  # stays well-formed: the checksum must catch it
                    char = BASE62[(BASE62.index(char) + 1) % len(BASE62)]
                else:
                    char = "?" if char != "?" else "!"
            return value[:pos] + char + value[pos + 1 :]
        if how == 1:
            return value[:pos] + char + value[pos:]
        return value[:pos] + value[pos + 1 :]

    chars = st.one_of(st.sampled_from(BASE62), st.characters(codec="utf-8"))
    return st.builds(change, st.integers(0, len(value) - 1), chars, st.integers(0, 2))


def realistic_values(task: str, arg: str, seed: Seed) -> tuple[str, ...]:
    namespace = task.split(".", 1)[0]
    if (namespace, arg) in BY_TASK:
        return BY_TASK[(namespace, arg)]
    if arg == "id":
        ids = sorted(set(seed.key_ids.values()))
        return (*map(str, ids), str(max(ids) + 1), "0", "9" * 18, "9" * 19, "01", " 1 ")
    return REALISTIC.get(arg, ())


def values_for(task: str, arg: str, seed: Seed) -> st.SearchStrategy[str]:
    """What to type for one argument: realistic, nearly right, hostile, or anything at all."""
    choices: list[st.SearchStrategy[str]] = [
        st.sampled_from(HOSTILE),
        st.text(max_size=30),
        st.sampled_from(seed.secrets),
    ]
    known = realistic_values(task, arg, seed)
    if known:  # twice: a case reaches the services only when every value is plausible
        realistic = st.sampled_from(known)
        choices = [realistic, realistic, realistic.flatmap(mutated), *choices]
    return st.one_of(*choices)


def stdin_values(seed: Seed) -> st.SearchStrategy[bytes]:
    """Standard input: keys in every state (or one character off), passwords, garbage."""
    keys = st.sampled_from(seed.secrets)  # in seeding order: the same cases on every run
    text = st.one_of(
        keys,
        keys.map(lambda k: k + "\n"),
        keys.flatmap(mutated),
        keys.map(lambda k: k.upper()),
        keys.map(lambda k: "xx_" + k.split("_", 1)[1]),
        st.just(STDIN_PASSWORD + "\n"),
        st.just(STDIN_PASSWORD + "\r\n"),
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
    )
    raw = st.sampled_from((b"\xff\xfe\xfd", b"bk_\xc3\x28", b"\x00" * 64))
    return st.one_of(text.map(lambda s: s.encode("utf-8", "surrogatepass")), raw)


@dataclass(frozen=True)
class Case:
    """One generated command line."""

    task: str
    argv: tuple[str, ...]
    stdin: bytes
    json: bool
    env: tuple[tuple[str, str], ...] = ()  # variables set for this run only

    def __repr__(self) -> str:  # hypothesis prints failing cases: keep 10k-character values short
        def short(text: str) -> str:
            return repr(text) if len(text) <= 80 else f"{text[:40]!r}...({len(text)} chars)"

        env = " ".join(f"{name}={short(value)}" for name, value in self.env)
        argv = ", ".join(map(short, self.argv))
        return f"Case({env + ' ' if env else ''}{self.task}: [{argv}], stdin={self.stdin[:80]!r})"


@st.composite
def cases(draw: st.DrawFn, spec: TaskSpec, seed: Seed) -> Case:
    """An argv for ``spec``: its positionals (rarely one missing), any subset of its flags in any
    order, sometimes a profile first, rarely a flag or argument invoke does not know."""
    groups: list[list[str]] = []
    for arg in spec.positionals:
        # Hypothesis favours 0 and the bounds: a middle value makes these rare, as meant.
        if draw(st.integers(0, 24)) == 12:
            continue  # invoke must report the missing argument itself
        groups.append([draw(values_for(spec.name, arg.name, seed))])
    flags = draw(st.lists(st.sampled_from(spec.flags), unique=True)) if spec.flags else []
    as_json = any(f.name == "json" for f in flags)
    for arg in flags:
        flag = f"--{arg.name}"
        if arg.kind == "bool":
            groups.append([flag])
            continue
        count = draw(st.integers(1, 3)) if arg.kind == "list" else 1
        for _ in range(count):
            value = draw(values_for(spec.name, arg.name, seed))
            groups.append([f"{flag}={value}"] if draw(st.booleans()) else [flag, value])
    if draw(st.integers(0, 29)) == 15:
        groups.append([draw(st.sampled_from(["--bogus", "extra", "--json=1", "-x"]))])
    order = draw(st.permutations(range(len(groups))))
    argv = [spec.name, *(token for i in order for token in groups[i])]
    prelude = draw(st.integers(0, 9))
    if prelude == 4:
        argv = ["--profile", draw(st.sampled_from(PROFILES)), *argv]
    elif prelude == 5 and spec.name != "profile":
        argv = ["profile", draw(st.sampled_from(PROFILES)), *argv]
    env = (draw(st.sampled_from(ENVIRONMENT)),) if draw(st.integers(0, 7)) == 3 else ()
    as_json = as_json or ("APP_OUTPUT", "json") in env
    return Case(spec.name, tuple(argv), draw(stdin_values(seed)), as_json, env)
