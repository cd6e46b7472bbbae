"""A scripted text adventure driven by a state machine.

Covers enum.Enum/Flag/auto, structural pattern matching (match/case with
class, mapping, sequence and guard patterns), dict-based transition tables,
sets (always printed sorted), __str__/__format__, simple parsing of
commands, and a replayable scripted session.
"""
from dataclasses import dataclass, field
from enum import Enum, Flag, auto


class State(Enum):
    EXPLORING = auto()
    FIGHTING = auto()
    TRADING = auto()
    DEAD = auto()
    WON = auto()


class Ability(Flag):
    NONE = 0
    SWIM = auto()
    CLIMB = auto()
    SEE_DARK = auto()
    ALL = SWIM | CLIMB | SEE_DARK


@dataclass
class Room:
    name: str
    desc: str
    exits: dict
    items: set = field(default_factory=set)
    requires: Ability = Ability.NONE
    dark: bool = False
    monster: str = None


@dataclass
class Player:
    room: str = "hall"
    hp: int = 10
    gold: int = 3
    inventory: list = field(default_factory=list)
    abilities: Ability = Ability.NONE
    state: State = State.EXPLORING
    moves: int = 0


WORLD = {
    "hall": Room("Great Hall", "Dusty banners hang from the rafters.", {"north": "library", "east": "kitchen", "down": "cellar"},
                 {"torch"}),
    "library": Room("Library", "Shelves of mouldy books.", {"south": "hall", "up": "tower"}, {"rope", "scroll"}),
    "kitchen": Room("Kitchen", "A merchant warms her hands by the stove.", {"west": "hall", "out": "river"}, {"bread"}),
    "cellar": Room("Cellar", "Something skitters in the dark.", {"up": "hall"}, {"key"}, dark=True, monster="rat"),
    "tower": Room("Tower", "Wind howls through arrow slits.", {"down": "library"}, {"crown"}, requires=Ability.CLIMB),
    "river": Room("River bank", "A cold river blocks the way.", {"in": "hall", "across": "island"}),
    "island": Room("Island", "A chest sits under a palm tree.", {"back": "river"}, {"chest"}, requires=Ability.SWIM),
}

SHOP = {"potion": 2, "flippers": 3, "lamp": 4}
GRANTS = {"rope": Ability.CLIMB, "flippers": Ability.SWIM, "lamp": Ability.SEE_DARK, "torch": Ability.SEE_DARK}

SCRIPT = """
look
take torch
go down
take key
attack rat
attack rat
go up
go east
trade
buy flippers
buy lamp
buy potion
leave
go out
go across
open chest
go back
go in
go north
take rope
take scroll
read scroll
inventory
dance wildly
go sideways
take sword
attack dragon
go up
take crown
look
"""


def parse(line):
    words = line.lower().split()
    match words:
        case []:
            return ("noop",)
        case ["go" | "walk", direction]:
            return ("go", direction)
        case ["take" | "get", *item] if item:
            return ("take", " ".join(item))
        case ["buy", item]:
            return ("buy", item)
        case ["attack", target]:
            return ("attack", target)
        case ["look"] | ["l"]:
            return ("look",)
        case ["inventory"] | ["i"]:
            return ("inventory",)
        case [verb, *rest]:
            return ("verb", verb, rest)


def describe(player):
    room = WORLD[player.room]
    if room.dark and not player.abilities & Ability.SEE_DARK:
        return "It is pitch black."
    items = ", ".join(sorted(room.items)) or "nothing"
    exits = ", ".join(sorted(room.exits))
    extra = f" A {room.monster} is here!" if room.monster else ""
    return f"{room.name}: {room.desc} You see {items}. Exits: {exits}.{extra}"


def step(player, command):
    room = WORLD[player.room]
    match (player.state, command):
        case (State.DEAD | State.WON, _):
            return "The game is over."
        case (State.TRADING, ("buy", item)):
            if item not in SHOP:
                return f"'{item}' is not for sale."
            if player.gold < SHOP[item]:
                return f"You need {SHOP[item]} gold for the {item}, you have {player.gold}."
            player.gold -= SHOP[item]
            player.inventory.append(item)
            player.abilities |= GRANTS.get(item, Ability.NONE)
            return f"Bought {item}. Gold left: {player.gold}."
        case (State.TRADING, ("verb", "leave", _)):
            player.state = State.EXPLORING
            return "You leave the merchant."
        case (State.TRADING, _):
            return "The merchant only understands 'buy <item>' and 'leave'."
        case (_, ("look",)):
            return describe(player)
        case (_, ("go", direction)) if direction in room.exits:
            target = WORLD[room.exits[direction]]
            if target.requires and not player.abilities & target.requires:
                return f"You cannot go {direction}: you need {target.requires.name.lower()}."
            player.room = room.exits[direction]
            player.moves += 1
            return describe(player)
        case (_, ("go", direction)):
            return f"You can't go {direction} from here."
        case (_, ("take", item)) if item in room.items:
            if room.dark and not player.abilities & Ability.SEE_DARK:
                return "You fumble around in the dark."
            room.items.discard(item)
            player.inventory.append(item)
            player.abilities |= GRANTS.get(item, Ability.NONE)
            if item == "crown":
                player.state = State.WON
                return "You lift the crown. You win!"
            return f"Taken: {item}."
        case (_, ("take", item)):
            return f"There is no {item} here."
        case (_, ("attack", target)) if room.monster == target:
            damage = 2 if "key" in player.inventory else 1
            player.hp -= 1
            player.gold += damage
            if damage == 2:
                room.monster = None
                return f"You defeat the {target} and find {damage} gold. HP {player.hp}."
            return f"The {target} bites you. HP {player.hp}."
        case (_, ("attack", target)):
            return f"There is no {target} to attack."
        case (_, ("verb", "trade", _)) if player.room == "kitchen":
            player.state = State.TRADING
            wares = ", ".join(f"{k} ({v}g)" for k, v in SHOP.items())
            return f"The merchant offers: {wares}."
        case (_, ("verb", "open", ["chest"])) if "chest" in room.items:
            player.gold += 5
            room.items.discard("chest")
            return f"The chest holds 5 gold! Gold: {player.gold}."
        case (_, ("verb", "read", ["scroll"])) if "scroll" in player.inventory:
            return "The scroll reads: 'The crown waits above the books.'"
        case (_, ("inventory",)):
            abil = sorted(a.name for a in Ability if a in player.abilities and a.name not in ("NONE", "ALL"))
            return f"Carrying {sorted(player.inventory)}; gold {player.gold}; hp {player.hp}; abilities {abil}"
        case (_, ("verb", verb, rest)):
            return f"I don't know how to '{' '.join([verb] + rest)}'."
        case _:
            return "Nothing happens."


def main():
    player = Player()
    transitions = []
    for n, line in enumerate(l for l in SCRIPT.strip().splitlines()):
        before = player.state
        reply = step(player, parse(line))
        print(f"[{n:02d}] > {line}")
        print(f"     {reply}")
        if player.state is not before:
            transitions.append((before.name, player.state.name))
    print("== summary ==")
    print("state transitions:", transitions)
    print("final:", player.state, "moves:", player.moves, "gold:", player.gold, "hp:", player.hp)
    print("abilities flag:", player.abilities, "| value:", player.abilities.value,
          "| has ALL:", Ability.ALL in player.abilities or player.abilities == Ability.ALL)
    print("members:", [m.name for m in State], "| lookup:", State["WON"], State(2))
    print("flag combos:", [(str(f), f.value) for f in (Ability.SWIM | Ability.CLIMB, Ability.ALL & ~Ability.SWIM)])
    left = {name: sorted(r.items) for name, r in WORLD.items() if r.items}
    print("items left:", left)
    print("rooms visited would need:", sorted({r.requires.name for r in WORLD.values() if r.requires}))


if __name__ == "__main__":
    main()
