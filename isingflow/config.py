"""Configuration: schema validation with errors that name the offending key, and profiles.

The Snakefile calls :func:`validate_config` before any rule runs.  It validates with
``snakemake.utils.validate`` (JSON schema, defaults filled in) and, on failure, re-runs the
schema check with ``jsonschema`` to report every problem as ``config key 'a.b.c': message``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = REPO_ROOT / "workflow" / "schemas"
MAIN_SCHEMA = SCHEMA_DIR / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration problem; the message names the config key."""


def _key_path(error) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "<top level>"


def _describe(error) -> str:
    """One line per schema violation, naming the key."""
    key = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        names = ", ".join(f"'{k}'" for k in extra)
        where = f"under '{key}'" if key != "<top level>" else "at the top level"
        return f"config key {names} {where} is not a known setting (allowed: {', '.join(allowed)})"
    if error.validator == "required":
        return f"config key '{key}': {error.message}"
    return f"config key '{key}': {error.message}"


def _load_schema(path: Path = MAIN_SCHEMA) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def schema_errors(config: dict, schema_path: Path = MAIN_SCHEMA) -> list[str]:
    """Every schema violation of ``config`` as a message that names the key."""
    import jsonschema
    from referencing import Registry, Resource

    schema = _load_schema(schema_path)

    def retrieve(uri: str):
        target = (schema_path.parent / uri).resolve()
        return Resource.from_contents(_load_schema(target))

    registry = Registry(retrieve=retrieve)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema, registry=registry)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    messages = []
    for err in errors:
        # descend into anyOf/oneOf to the most specific error
        best = jsonschema.exceptions.best_match([err]) if err.context else err
        messages.append(_describe(best))
    return messages


def validate_config(config: dict, schema_path: Path = MAIN_SCHEMA) -> dict:
    """Validate ``config`` (in place: schema defaults are filled in) and return it.

    Raises :class:`ConfigError` listing every bad key.
    """
    problems = schema_errors(config, schema_path)
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))
    add_derived_systems(config)
    fill_defaults(config, schema_path, DEFAULTED_SECTIONS)
    try:
        from snakemake.utils import validate as sm_validate
    except ImportError:  # plain library use without snakemake
        return config
    try:
        sm_validate(config, str(schema_path), set_default=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with our message
        raise ConfigError(f"invalid configuration: {exc}") from exc
    check_semantics(config)
    return config


# top-level sections whose defaults :func:`validate_config` fills in from the schemas (the code
# reads them from the config, with no default of its own)
DEFAULTED_SECTIONS = ("extract", "vacancy", "model")


def fill_defaults(instance: dict, schema_path: Path = MAIN_SCHEMA, sections: tuple[str, ...] | None = None) -> dict:
    """Fill the defaults of the schema into ``instance`` (in place), following ``$ref`` into other files.

    ``snakemake.utils.validate(set_default=True)`` does not fill the defaults of a ``$ref``'d file
    that declares its own ``$schema`` (jsonschema validates it with the plain validator class);
    this walks the schema files itself.  ``sections``: only these top-level keys (all when None).
    An object's children get their defaults only where the object exists or has ``default: {}``.
    """
    schema = _load_schema(schema_path)
    if sections is not None:
        schema = {"properties": {k: v for k, v in schema["properties"].items() if k in sections}}
    _fill(instance, schema, schema_path.parent, schema)
    return instance


def section_settings(section: str, values: dict | None = None) -> dict:
    """A config section (e.g. ``"vacancy"``) with every default of ``<section>.schema.yaml`` filled in."""
    return fill_schema_defaults(values, f"{section}.schema.yaml")


def fill_schema_defaults(values: dict | None, ref: str) -> dict:
    """A copy of ``values`` with every default of the schema ``ref`` filled in.

    ``ref``: a schema file of ``workflow/schemas``, optionally with a pointer into it
    (``"systems.schema.yaml#/$defs/stack"``).
    """
    return _fill(copy.deepcopy(values or {}), {"$ref": ref}, SCHEMA_DIR)


def _resolve(schema: dict, base: Path, root: dict) -> tuple[dict, Path, dict]:
    """Follow ``$ref`` (``file.yaml``, ``#/$defs/x`` or both) to the schema it names."""
    while "$ref" in schema:
        target, _, pointer = schema["$ref"].partition("#")
        if target:
            path = (base / target).resolve()
            root, base = _load_schema(path), path.parent
        resolved = root
        for part in filter(None, pointer.split("/")):
            resolved = resolved[part]
        schema = {**resolved, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema, base, root


def _fill(instance: Any, schema: dict, base: Path, root: dict | None = None) -> Any:
    schema, base, root = _resolve(schema, base, root or {})
    if not isinstance(instance, dict):
        return instance
    props = schema.get("properties", {})
    for key, sub in props.items():
        if "default" in sub and key not in instance:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill(instance[key], sub, base, root)
    for sub in schema.get("allOf", []):  # composed schemas (conditional ones are not followed)
        if "if" not in sub:
            _fill(instance, sub, base, root)
    if isinstance(schema.get("additionalProperties"), dict):
        for key in set(instance) - set(props):
            _fill(instance[key], schema["additionalProperties"], base, root)
    return instance


def check_semantics(config: dict) -> None:
    """Checks a JSON schema cannot express (cross-key consistency)."""
    profile = config.get("profile")
    if profile not in config.get("profiles", {}):
        raise ConfigError(
            f"config key 'profile': {profile!r} is not one of the defined profiles "
            f"{sorted(config.get('profiles', {}))}")
    systems = config.get("systems", {})
    for name, settings in config["profiles"].items():
        for system in (settings.get("dft", {}).get("system_overrides") or {}):
            if system not in systems:
                raise ConfigError(f"config key 'profiles.{name}.dft.system_overrides': {system!r} is not a "
                                  f"system of 'systems:' ({sorted(systems)})")
    het = config.get("extract", {}).get("heterostructure")
    if het is not None and het not in (config.get("heterostructures") or {}):
        raise ConfigError(f"config key 'extract.heterostructure': {het!r} is not a heterostructure of "
                          f"'heterostructures:' ({sorted(config.get('heterostructures') or {})})")


def add_derived_systems(config: dict) -> dict:
    """Add the ``systems:`` entries the heterostructures need and the config lacks (in place;
    :func:`isingflow.study.plan_study`).  Raises :class:`ConfigError` naming the key."""
    from isingflow.study import StudyError, plan_study

    try:
        _roles, new = plan_study(config)
    except StudyError as exc:
        raise ConfigError(str(exc)) from None
    config.setdefault("systems", {}).update(new)
    return config


def heterostructures(config: dict):
    """Name → :class:`isingflow.study.Heterostructure` of a validated ``config``."""
    from isingflow.study import plan_study

    return plan_study(config)[0]


@dataclass(frozen=True)
class StudySystems:
    """The systems of single-system stages: the monolayer slice (``dft.monolayer.system``), the
    heterostructure compared with the paper (``extract.heterostructure``) and the vacancy
    supercell (``vacancy.system``; its default comes from ``vacancy.schema.yaml``)."""

    monolayer: str
    heterostructure: str
    vacancy: str


def study_systems(config: dict) -> StudySystems:
    """The :class:`StudySystems` of a validated ``config`` (see :func:`validate_config`)."""
    return StudySystems(monolayer=config["dft"]["monolayer"]["system"],
                        heterostructure=config["extract"]["heterostructure"], vacancy=config["vacancy"]["system"])


def superconductor_layers_of(config: dict, system: str) -> list[int]:
    """Layer indices of the stack ``system`` whose material has ``role: superconductor`` in the
    material library."""
    from isingflow.structures.materials import load_materials

    materials = load_materials()
    return [i for i, layer in enumerate(config["systems"][system].get("layers", []))
            if getattr(materials.get(layer["material"]), "role", None) == "superconductor"]


def profile_settings(config: dict, section: str) -> dict[str, Any]:
    """The ``section`` settings (e.g. ``"dft"``) of the active profile, as a copy."""
    prof = config["profiles"][config["profile"]]
    if section not in prof:
        raise ConfigError(f"config key 'profiles.{config['profile']}.{section}' is missing")
    return copy.deepcopy(prof[section])


def load_config(path: str | Path, overrides: dict | None = None) -> dict:
    """Load a YAML config file, apply ``overrides`` (shallow) and validate it."""
    with open(path) as fh:
        config = yaml.safe_load(fh) or {}
    config.update(overrides or {})
    return validate_config(config)
