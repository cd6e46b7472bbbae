"""A miniature ORM: models declared with descriptors and a metaclass.

Covers metaclasses (__new__, __prepare__, __call__), descriptors with
__set_name__, properties, __init_subclass__, class creation with type(),
__getattr__/__setattr__/__delattr__, __getattribute__ logging, getattr/
setattr/hasattr loops, __slots__, class decorators and __class_getitem__.
"""


class ValidationError(Exception):
    pass


class Field:
    creation_counter = 0

    def __init__(self, *, default=None, required=False):
        self.default = default
        self.required = required
        Field.creation_counter += 1
        self.order = Field.creation_counter

    def __set_name__(self, owner, name):
        self.name = name
        self.storage = "_f_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return getattr(obj, self.storage, self.default)

    def __set__(self, obj, value):
        if value is None and self.required:
            raise ValidationError(f"{self.name} is required")
        if value is not None:
            value = self.convert(value)
        obj.__dict__[self.storage] = value

    def convert(self, value):
        return value

    def describe(self):
        return f"{type(self).__name__}(default={self.default!r}, required={self.required})"


class IntField(Field):
    def __init__(self, *, lo=None, hi=None, **kw):
        super().__init__(**kw)
        self.lo, self.hi = lo, hi

    def convert(self, value):
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise ValidationError(f"{self.name}: {value!r} is not an integer") from None
        if self.lo is not None and value < self.lo or self.hi is not None and value > self.hi:
            raise ValidationError(f"{self.name}: {value} outside [{self.lo}, {self.hi}]")
        return value


class StrField(Field):
    def __init__(self, *, max_len=50, **kw):
        super().__init__(**kw)
        self.max_len = max_len

    def convert(self, value):
        value = str(value).strip()
        if len(value) > self.max_len:
            raise ValidationError(f"{self.name}: too long ({len(value)} > {self.max_len})")
        return value


class ModelMeta(type):
    registry = {}

    @classmethod
    def __prepare__(mcs, name, bases, **kw):
        print(f"  __prepare__ {name} kw={sorted(kw)}")
        return {"__model_kwargs__": dict(kw)}

    def __new__(mcs, name, bases, ns, **kw):
        fields = {}
        for base in reversed(bases):
            fields.update(getattr(base, "_fields", {}))
        own = sorted(((k, v) for k, v in ns.items() if isinstance(v, Field)), key=lambda kv: kv[1].order)
        fields.update(own)
        ns["_fields"] = fields
        ns.setdefault("table", kw.get("table", name.lower() + "s"))
        cls = super().__new__(mcs, name, bases, ns, **kw)
        if name != "Model":
            ModelMeta.registry[name] = cls
        return cls

    def __init__(cls, name, bases, ns, **kw):
        super().__init__(name, bases, ns)

    def __call__(cls, *args, **kwargs):
        obj = super().__call__(*args, **kwargs)
        cls._instances = getattr(cls, "_instances", 0) + 1
        return obj

    def __repr__(cls):
        return f"<model {cls.__name__} table={cls.table}>"


class Model(metaclass=ModelMeta):
    plugins = []

    def __init_subclass__(cls, audited=False, table=None, **kw):
        super().__init_subclass__()
        cls.audited = audited
        Model.plugins.append(cls.__name__)

    def __init__(self, **values):
        unknown = sorted(set(values) - set(self._fields))
        if unknown:
            raise ValidationError(f"unknown fields {unknown}")
        for name, f in self._fields.items():
            setattr(self, name, values.get(name, f.default))

    def __setattr__(self, name, value):
        if self.audited and name in self._fields:
            old = getattr(self, name, None)
            print(f"    audit {type(self).__name__}.{name}: {old!r} -> {value!r}")
        super().__setattr__(name, value)

    def __getattr__(self, name):
        if name.startswith("get_"):
            field = name[4:]
            if field in self._fields:
                return lambda: getattr(self, field)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __delattr__(self, name):
        if name in self._fields:
            raise ValidationError(f"cannot delete field {name}")
        super().__delattr__(name)

    def to_row(self):
        return tuple(getattr(self, n) for n in self._fields)

    def __repr__(self):
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other):
        return type(self) is type(other) and self.to_row() == other.to_row()

    __hash__ = None


class User(Model, audited=True, table="people"):
    id = IntField(required=True, lo=1)
    name = StrField(max_len=12, required=True)
    age = IntField(lo=0, hi=150, default=0)

    @property
    def display(self):
        return f"{self.name} ({self.age})"

    @display.setter
    def display(self, text):
        name, _, age = text.partition(":")
        self.name, self.age = name, age


class Admin(User):
    level = IntField(default=1, lo=1, hi=9)


class Temperature:
    __slots__ = ("_celsius",)

    def __init__(self, c):
        self._celsius = c

    celsius = property(lambda self: self._celsius)

    @property
    def fahrenheit(self):
        return self._celsius * 9 / 5 + 32

    @fahrenheit.setter
    def fahrenheit(self, f):
        self._celsius = (f - 32) * 5 / 9


class Typed:
    def __class_getitem__(cls, item):
        return f"{cls.__name__}[{getattr(item, '__name__', item)}]"


def main():
    print("== declared models ==")
    for cls in (User, Admin):
        print(f"  {cls!r} fields: " + ", ".join(f"{n}:{f.describe()}" for n, f in cls._fields.items()))
    print("  plugins:", Model.plugins, "registry:", sorted(ModelMeta.registry))
    u = User(id=1, name="  alice ", age="34")
    print("  created:", u, "display:", u.display)
    u.display = "Alicia:35"
    print("  after display setter:", u)
    print("  dynamic getter:", u.get_name(), u.get_age())
    for bad in ({"id": 0, "name": "x"}, {"id": 2, "name": "a" * 20}, {"id": "two", "name": "b"},
                {"id": 3}, {"id": 4, "name": "c", "email": "c@x"}):
        try:
            User(**bad)
        except ValidationError as exc:
            print(f"  rejected {bad}: {exc}")
    try:
        u.nickname
    except AttributeError as exc:
        print("  AttributeError:", exc)
    try:
        del u.name
    except ValidationError as exc:
        print("  ValidationError:", exc)
    u.scratch = "temp"
    del u.scratch
    print("  scratch removed:", not hasattr(u, "scratch"))

    a = Admin(id=9, name="root", level=7)
    print("  admin:", a, "| isinstance User:", isinstance(a, User), "| instances:", User._instances, Admin._instances)
    print("  equality:", User(id=1, name="x") == User(id=1, name="x"), User(id=1, name="x") == Admin(id=1, name="x"))
    try:
        hash(u)
    except TypeError as exc:
        print("  unhashable:", exc)

    print("== setattr/getattr loops ==")
    patch = {"name": "Bob", "age": 41}
    for key, value in patch.items():
        setattr(a, key, value)
    print("  patched:", [(n, getattr(a, n)) for n in a._fields])
    print("  hasattr:", [(n, hasattr(a, n)) for n in ("id", "level", "get_level", "get_nope", "table")])
    print("  getattr default:", getattr(a, "missing", "<none>"))
    print("  descriptor from class:", type(User.__dict__["age"]).__name__, User.age.name, User.age.storage)

    print("== type() creation ==")
    def greet(self):
        return f"hello from {type(self).__name__} #{self.id}"
    Product = type("Product", (Model,), {"id": IntField(required=True), "sku": StrField(max_len=8, default="NA"),
                                         "greet": greet, "table": "catalog"})
    p = Product(id=5)
    print("  ", repr(Product), p, p.greet(), "| mro:", [c.__name__ for c in Product.__mro__])
    Point = type("Point", (), {"__init__": lambda self, x, y: setattr(self, "xy", (x, y)),
                               "__repr__": lambda self: f"Point{self.xy}"})
    print("  plain type():", Point(3, 4), type(Point).__name__, Point.__name__, Point.__qualname__)
    Kind = ModelMeta("Kind", (Model,), {"code": StrField(default="k")}, table="kinds")
    print("  metaclass call:", Kind, Kind(), sorted(ModelMeta.registry))

    print("== properties and slots ==")
    t = Temperature(100)
    print("  C/F:", t.celsius, t.fahrenheit)
    t.fahrenheit = 212 - 180
    print("  after setter:", t.celsius, t.fahrenheit)
    try:
        t.celsius = 5
    except AttributeError:
        print("  celsius is read-only")
    try:
        t.kelvin = 5
    except AttributeError:
        print("  no kelvin slot")
    print("  class_getitem:", Typed[int], Typed["str"])
    attrs = sorted(n for n in dir(User) if not n.startswith("_"))
    print("  public attrs of User:", attrs)


if __name__ == "__main__":
    main()
