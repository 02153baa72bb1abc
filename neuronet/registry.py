"""``Registry``: names for the classes or functions of one kind (layers, losses, ...).

Each of neuronet's string registries (``layers.get("Dense")``, ``losses.get("mse")``,
``optimizers.get("adam")``, ``activations.get("relu")``, ``initializers.get(...)``,
``metrics.get(...)``) is one ``Registry``; the rules of a kind (what a name
builds, what else ``get`` accepts) stay in its module.

A registry maps names, and aliases, to entries. An entry's first name is its
canonical one: the name ``name_of`` and ``serialize`` write. ``deserialize``
builds only registered classes: a config names a class by its registered name,
never by an import path, so reading one runs no code of the file's choosing.

Example:
    >>> LOSSES = Registry("loss", base=Loss)
    >>> @LOSSES.register(aliases=["mse"])
    ... class MeanSquaredError(Loss): ...
    >>> LOSSES.get("mse") is MeanSquaredError
    True
    >>> LOSSES.serialize(MeanSquaredError())
    {'class_name': 'MeanSquaredError', 'config': {...}}
"""


class Registry:
    """Names -> entries for one kind of object.

    Args:
        kind: how messages call the entries: 'loss', 'layer class', ...
        base: entries must be subclasses of it; None: any callable.
        case_sensitive: False looks names up whatever their case ('Adam', 'adam').
        hint: what ``get``'s error says after the known names, e.g. what else works.
    """

    def __init__(self, kind, base=None, case_sensitive=True, hint=None):
        self.kind, self.base, self.hint = kind, base, hint
        self.case_sensitive = case_sensitive
        self._entries = {}  # lookup key (lower-cased if not case_sensitive) -> entry
        self._names = {}  # entry -> its canonical name, as first registered

    def register(self, entry=None, name=None, aliases=()):
        """Make ``entry`` known under ``name`` (its ``__name__`` by default) and ``aliases``;
        returns it. Registering the same entry again adds names; a name taken by another
        entry is a ValueError. Usable as a decorator: ``@registry.register`` or
        ``@registry.register(name=..., aliases=[...])``."""
        if entry is None:
            return lambda decorated: self.register(decorated, name, aliases)
        self._check_entry(entry)
        names = [name or entry.__name__, *aliases]
        for each in names:
            existing = self._entries.get(self._key(each), entry)
            if existing is not entry:
                raise ValueError(f"a different {self.kind} is already registered as {each!r}: "
                                 f"{existing!r}")
        for each in names:
            self._entries[self._key(each)] = entry
        self._names.setdefault(entry, names[0])
        return entry

    def _check_entry(self, entry):
        if self.base is not None:
            if not (isinstance(entry, type) and issubclass(entry, self.base)):
                raise TypeError(f"register expects a {self.base.__name__} subclass, "
                                f"got {entry!r}")
        elif not callable(entry):
            raise TypeError(f"register expects a callable {self.kind}, got {entry!r}")

    def _key(self, name):
        return name if self.case_sensitive else name.lower()

    def __contains__(self, name):
        return isinstance(name, str) and self._key(name) in self._entries

    def __iter__(self):
        """Every name and alias (lower-cased when not case_sensitive), sorted."""
        return iter(sorted(self._entries))

    def get(self, name, also=()):
        """The entry registered as ``name``; a ValueError listing every known name
        otherwise. ``also``: more names for that list, which the caller resolves itself."""
        if name not in self:
            hint = f"; {self.hint}" if self.hint else ""
            raise ValueError(f"unknown {self.kind} {name!r}; known: {self._known(also)}{hint}")
        return self._entries[self._key(name)]

    def _known(self, also=()):
        return ", ".join(repr(each) for each in sorted([*self._entries, *also]))

    def name_of(self, entry):
        """The canonical name of a registered entry; ValueError for another one."""
        if entry not in self._names:
            raise ValueError(f"{self.kind} {entry!r} is not registered, so it cannot be saved "
                             f"by name: register it, or use one of {self._known()}")
        return self._names[entry]

    def serialize(self, obj):
        """``{"class_name": ..., "config": obj.get_config()}``, JSON-able. The class name is
        the registered one, or the class's own for an unregistered class (which
        ``deserialize`` then refuses: register it to read it back)."""
        cls = type(obj)
        return {"class_name": self._names.get(cls, cls.__name__), "config": obj.get_config()}

    def deserialize(self, description):
        """A new object ``cls.from_config(config)`` from ``serialize``'s dict, ``cls`` being
        the class registered under its class name (or an alias)."""
        if not isinstance(description, dict):
            raise TypeError(f"a serialized {self.kind} is a dict {{'class_name': ..., "
                            f"'config': ...}}, got {description!r}")
        name = description.get("class_name")
        if name not in self:
            raise ValueError(f"cannot deserialize {self.kind} {name!r}; known: {self._known()}")
        return self.get(name).from_config(dict(description.get("config") or {}))


class Configurable:
    """An object rebuilt from its constructor's arguments: ``get_config()`` returns them,
    ``from_config(config)`` calls the class with them, ``repr`` shows them."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"
