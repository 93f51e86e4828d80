"""Every public name seeds 000-004 document exists with its documented signature.

The names live in ``parity_spec.py`` (a table, one row per documented name); this module turns
each row into small test cases: existence, one case per documented parameter or dataclass field
(name, kind, position, default), re-exports, async-ness and "undocumented extras are optional".
Cases for names other issues own carry ``xfail(strict=True)`` from the table.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.unit.parity_spec import SPEC, UNOWNED, Row

P = inspect.Parameter
POSITIONAL = (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)
UNSTATED = "..."


# --------------------------------------------------------------------------- resolving names


def resolve(path: str) -> tuple[Any, type | None]:
    """The object at ``module:Attr.sub`` and the class it was read from (None for module level)."""
    module_name, _, attr_path = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise AssertionError(f"module {module_name} cannot be imported: {exc}") from None
    owner: type | None = None
    seen = module_name
    for part in attr_path.split(".") if attr_path else []:
        owner = obj if isinstance(obj, type) else None
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AssertionError(f"{seen} has no attribute {part!r}") from None
        seen = f"{seen}.{part}"
    return obj, owner


def actual_signature(path: str) -> inspect.Signature:
    obj, owner = resolve(path)
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{path} has no inspectable signature: {exc}") from None
    attr = path.rsplit(".", 1)[-1]
    if owner is not None and inspect.isfunction(obj):
        static = isinstance(inspect.getattr_static(owner, attr), staticmethod)
        if not static:  # a method read from its class: drop ``self``
            params = list(signature.parameters.values())[1:]
            signature = signature.replace(parameters=params)
    return signature


# --------------------------------------------------------------------------- documented signatures


@dataclass(frozen=True)
class DocParam:
    name: str
    kind: inspect._ParameterKind
    default: str | None  # None: required; "...": a default the seed does not state; else an expression
    index: int | None  # position among positional parameters


@dataclass(frozen=True)
class DocSig:
    mode: str | None  # "async", "sync" or None
    params: tuple[DocParam, ...]
    checked: bool = True  # False: the seed gives no parameters, so none are compared


def parse_sig(text: str) -> DocSig:
    mode = None
    for prefix in ("async", "sync"):
        if text.split(" ", 1)[0] == prefix:
            mode, text = prefix, text[len(prefix) :].strip()
    if not text:  # only the mode is documented
        return DocSig(mode, (), checked=False)
    func = ast.parse(f"def _{text}: pass").body[0]
    assert isinstance(func, ast.FunctionDef)
    a = func.args

    def default(node: ast.expr | None) -> str | None:
        if node is None:
            return None
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return UNSTATED
        return ast.unparse(node)

    positional = [*a.posonlyargs, *a.args]
    pos_defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults))
    pos_defaults += list(a.defaults)
    params: list[DocParam] = []
    for i, (arg, node) in enumerate(zip(positional, pos_defaults, strict=True)):
        kind = P.POSITIONAL_ONLY if i < len(a.posonlyargs) else P.POSITIONAL_OR_KEYWORD
        params.append(DocParam(arg.arg, kind, default(node), i))
    if a.vararg is not None:
        params.append(DocParam(a.vararg.arg, P.VAR_POSITIONAL, None, None))
    for arg, node in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        params.append(DocParam(arg.arg, P.KEYWORD_ONLY, default(node), None))
    if a.kwarg is not None:
        params.append(DocParam(a.kwarg.arg, P.VAR_KEYWORD, None, None))
    return DocSig(mode, tuple(params))


def expected_default(expr: str) -> Any:
    namespace = {"serializer": importlib.import_module("durable_workflow.serializer")}
    try:
        return eval(expr, namespace)
    except Exception as exc:
        raise AssertionError(f"documented default {expr} is not defined: {exc!r}") from None


def same_default(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) != isinstance(expected, bool):
        return False
    return bool(actual == expected)


def param_key(p: DocParam) -> str:
    if p.kind is P.POSITIONAL_ONLY:
        return f"#{p.index}:{p.name}"
    if p.kind is P.VAR_POSITIONAL:
        return f"*{p.name}"
    if p.kind is P.VAR_KEYWORD:
        return f"**{p.name}"
    return p.name


def match_param(signature: inspect.Signature, p: DocParam) -> inspect.Parameter | None:
    params = list(signature.parameters.values())
    if p.kind is P.POSITIONAL_ONLY:
        positional = [a for a in params if a.kind in POSITIONAL]
        return positional[p.index] if p.index is not None and p.index < len(positional) else None
    if p.kind in (P.VAR_POSITIONAL, P.VAR_KEYWORD):
        return next((a for a in params if a.kind is p.kind), None)
    return signature.parameters.get(p.name)


def check_param(path: str, p: DocParam, strict: bool) -> None:
    signature = actual_signature(path)
    a = match_param(signature, p)
    where = f"{path}{signature}"
    if a is None:
        what = "*args" if p.kind is P.VAR_POSITIONAL else "**kwargs"
        if p.kind is P.POSITIONAL_ONLY:
            what = f"a positional parameter #{p.index} ({p.name})"
        elif p.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD):
            what = f"parameter {p.name!r}"
        raise AssertionError(f"{where} has no {what}")
    if p.kind in (P.VAR_POSITIONAL, P.VAR_KEYWORD):
        return
    if p.kind is P.POSITIONAL_ONLY:
        assert a.kind in POSITIONAL, f"{where}: #{p.index} must accept a positional argument"
    elif p.kind is P.POSITIONAL_OR_KEYWORD:
        allowed = (P.POSITIONAL_OR_KEYWORD,)
        if not strict and p.default is not None:
            allowed = (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)
        assert a.kind in allowed, f"{where}: {p.name!r} is {a.kind.description}, documented positional-or-keyword"
        if a.kind is P.POSITIONAL_OR_KEYWORD:
            positional = [x.name for x in signature.parameters.values() if x.kind in POSITIONAL]
            assert positional.index(p.name) == p.index, (
                f"{where}: {p.name!r} is positional #{positional.index(p.name)}, documented #{p.index}"
            )
    else:
        allowed = (P.KEYWORD_ONLY,) if strict else (P.KEYWORD_ONLY, P.POSITIONAL_OR_KEYWORD)
        assert a.kind in allowed, f"{where}: {p.name!r} is {a.kind.description}, documented keyword-only"
    has_default = a.default is not P.empty
    if p.default is None:
        if strict:
            assert not has_default, f"{where}: {p.name!r} has a default, documented as required"
    elif p.default == UNSTATED:
        if strict:
            assert has_default, f"{where}: {p.name!r} is required, documented with a default"
    else:
        expected = expected_default(p.default)
        assert has_default, f"{where}: {p.name!r} is required, documented default {p.default}"
        assert same_default(a.default, expected), (
            f"{where}: {p.name!r} defaults to {a.default!r}, documented {p.default} ({expected!r})"
        )


def check_shape(path: str, doc: DocSig) -> None:
    """Parameters the seed does not document must be optional, so documented calls work."""
    signature = actual_signature(path)
    matched = {id(m) for p in doc.params if (m := match_param(signature, p)) is not None}
    for a in signature.parameters.values():
        if id(a) in matched or a.kind in (P.VAR_POSITIONAL, P.VAR_KEYWORD):
            continue
        assert a.default is not P.empty, (
            f"{path}{signature}: undocumented parameter {a.name!r} is required"
        )


def check_mode(path: str, mode: str) -> None:
    obj, _ = resolve(path)
    is_async = inspect.iscoroutinefunction(obj)
    if mode == "async":
        assert is_async, f"{path} is documented async (awaited) but is not a coroutine function"
    else:
        assert not is_async, f"{path} is documented as a plain call but is a coroutine function"


# --------------------------------------------------------------------------- dataclasses


def dataclass_of(path: str) -> type:
    obj, _ = resolve(path)
    assert isinstance(obj, type) and dataclasses.is_dataclass(obj), f"{path} is not a dataclass"
    return obj


def init_positional(cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.init and not f.kw_only]


def field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def check_field(path: str, p: DocParam) -> None:
    cls = dataclass_of(path)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    listed = ", ".join(fields)
    f = fields.get(p.name)
    assert f is not None, f"{path} has no field {p.name!r} (fields: {listed})"
    assert f.init and not f.kw_only, f"{path}.{p.name} is not a positional __init__ field"
    order = [x.name for x in init_positional(cls)]
    assert order.index(p.name) == p.index, (
        f"{path}.{p.name} is field #{order.index(p.name)}, documented #{p.index} (fields: {listed})"
    )
    actual = field_default(f)
    if p.default is None:
        assert actual is dataclasses.MISSING, f"{path}.{p.name} has a default, documented required"
    elif p.default == UNSTATED:
        assert actual is not dataclasses.MISSING, f"{path}.{p.name} is required, documented optional"
    else:
        expected = expected_default(p.default)
        assert actual is not dataclasses.MISSING, f"{path}.{p.name} is required, documented {p.default}"
        assert same_default(actual, expected), (
            f"{path}.{p.name} defaults to {actual!r}, documented {p.default} ({expected!r})"
        )


def check_field_shape(path: str, doc: DocSig) -> None:
    cls = dataclass_of(path)
    documented = {p.name for p in doc.params}
    for f in dataclasses.fields(cls):
        if f.name in documented or not f.init:
            continue
        assert field_default(f) is not dataclasses.MISSING, (
            f"{path}: undocumented field {f.name!r} is required"
        )


# --------------------------------------------------------------------------- other checks


def check_exists(path: str) -> None:
    resolve(path)


def check_export(path: str, module_name: str) -> None:
    obj, _ = resolve(path)
    attr = path.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    exported, _ = resolve(f"{module_name}:{attr}")
    assert exported is obj, f"{module_name}.{attr} is not {path}"


def check_attr(path: str, attr: str) -> None:
    obj, _ = resolve(path)
    assert isinstance(obj, type), f"{path} is not a class"
    known = set(dir(obj))
    if dataclasses.is_dataclass(obj):
        known |= {f.name for f in dataclasses.fields(obj)}
    for klass in obj.__mro__:
        known |= set(getattr(klass, "__annotations__", {}))
    assert attr in known, f"{path} has no attribute or field {attr!r}"


def check_error(path: str, flavour: str) -> None:
    obj, _ = resolve(path)
    assert isinstance(obj, type) and issubclass(obj, BaseException), f"{path} is not an exception"
    if flavour == "base":
        assert not issubclass(obj, Exception), (
            f"{path} must derive from BaseException but not Exception (MRO: {obj.__mro__})"
        )
    else:
        assert issubclass(obj, Exception), f"{path} must be an Exception"


def check_subclass(path: str, base_path: str) -> None:
    obj, _ = resolve(path)
    base, _ = resolve(base_path)
    assert isinstance(obj, type) and issubclass(obj, base), f"{path} does not derive from {base_path}"


def check_value(path: str, expected: object) -> None:
    obj, _ = resolve(path)
    assert obj == expected, f"{path} is {obj!r}, documented {expected!r}"


def check_logger(logger_name: str, probe: str) -> None:
    found = eval(probe, {"importlib": importlib})
    assert isinstance(found, logging.Logger), f"{probe} is not a Logger: {found!r}"
    assert found.name == logger_name, f"the SDK logs to {found.name!r}, documented {logger_name!r}"


def check_metric(metric_name: str) -> None:
    module = importlib.import_module("durable_workflow.metrics")
    names = {v for v in vars(module).values() if isinstance(v, str)}
    assert metric_name in names, f"durable_workflow.metrics defines no metric {metric_name!r}"


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    id: str
    key: str  # what a row's ``missing`` map is keyed by
    check: Callable[[], None]


def row_cases(row: Row) -> Iterator[Case]:
    path = row.path
    if row.kind not in ("subclass", "logger", "metric", "error", "value"):
        yield Case(path, "exists", lambda: check_exists(path))
    if row.kind == "sig":
        assert row.sig is not None
        doc = parse_sig(row.sig)
        for p in doc.params:
            key = param_key(p)
            yield Case(f"{path}({key})", p.name, lambda p=p: check_param(path, p, row.strict))
        if doc.checked:
            yield Case(f"{path}[shape]", "shape", lambda: check_shape(path, doc))
        if doc.mode is not None:
            mode = doc.mode
            yield Case(f"{path}[{mode}]", mode, lambda: check_mode(path, mode))
    elif row.kind == "dataclass":
        assert row.sig is not None
        doc = parse_sig(row.sig)
        yield Case(f"{path}[dataclass]", "dataclass", lambda: dataclass_of(path) and None)
        for p in doc.params:
            yield Case(f"{path}.{p.name}", p.name, lambda p=p: check_field(path, p))
        yield Case(f"{path}[shape]", "shape", lambda: check_field_shape(path, doc))
    elif row.kind == "attrs":
        for attr in row.names:
            yield Case(f"{path}.{attr}", attr, lambda attr=attr: check_attr(path, attr))
    elif row.kind == "error":
        yield Case(path, "exists", lambda: check_error(path, str(row.expected)))
    elif row.kind == "subclass":
        for base in row.names:
            yield Case(f"{path}[subclass:{base}]", "subclass", lambda b=base: check_subclass(path, b))
    elif row.kind == "value":
        yield Case(path, "exists", lambda: check_value(path, row.expected))
    elif row.kind == "logger":
        yield Case(f"logger:{path}", "exists", lambda: check_logger(path, str(row.expected)))
    elif row.kind == "metric":
        yield Case(f"metric:{path}", "exists", lambda: check_metric(path))
    for module_name in row.exports:
        yield Case(
            f"{module_name}:{path.rsplit(':', 1)[-1].rsplit('.', 1)[-1]}[export]",
            f"export:{module_name}",
            lambda m=module_name: check_export(path, m),
        )


def owner_reason(owner: int, case_id: str) -> str:
    if owner == UNOWNED:
        return f"owned by no issue yet (needs server support): {case_id}"
    return f"owned by issue {owner}: {case_id}"


def build_params() -> list[Any]:
    params: list[Any] = []
    seen: set[str] = set()
    for row in SPEC:
        for case in row_cases(row):
            if case.id in seen:
                raise ValueError(f"parity_spec lists {case.id} twice")
            seen.add(case.id)
            owner = row.owner if row.owner is not None else row.missing.get(case.key)
            marks = []
            if owner is not None:
                marks.append(pytest.mark.xfail(strict=True, reason=owner_reason(owner, case.id)))
            params.append(pytest.param(case.check, id=case.id, marks=marks))
    return params


@pytest.mark.parametrize("check", build_params())
def test_documented_name(check: Callable[[], None]) -> None:
    try:
        check()
        return
    except AssertionError as exc:
        # The message says it all: keep it, drop pytest's re-evaluation of the assert.
        message = str(exc).split("\nassert ", 1)[0]
    # No traceback: it would only show this module, and formatting 400+ xfails is slow.
    pytest.fail(message, pytrace=False)


def test_spec_missing_keys_name_real_cases() -> None:
    """A ``missing`` key that matches no case of its row would silently mark nothing."""
    for row in SPEC:
        keys = {case.key for case in row_cases(row)}
        stray = set(row.missing) - keys
        assert not stray, f"{row.path}: missing keys {sorted(stray)} match no case"


def test_client_takes_a_transport_retry_policy() -> None:
    """Seed 001: ``retry_policy`` is a ``TransportRetryPolicy``; the client keeps and uses it."""
    from durable_workflow import Client, TransportRetryPolicy

    policy = TransportRetryPolicy(max_attempts=2)
    client = Client("http://127.0.0.1:9", retry_policy=policy)
    assert client.retry_policy is policy
