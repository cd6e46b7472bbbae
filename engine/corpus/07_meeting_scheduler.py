"""Meeting scheduler across fixed-offset time zones (fixed dates only).

Covers datetime/date/time/timedelta arithmetic, strftime with fixed formats,
isoformat/fromisoformat, fixed-offset timezone objects, comparisons, weekday
math, calendar helpers, and a custom tzinfo subclass.
"""
import calendar
from datetime import date, datetime, time, timedelta, timezone, tzinfo

UTC = timezone.utc
OFFICES = {
    "Berlin": timezone(timedelta(hours=1), "CET"),
    "New York": timezone(timedelta(hours=-5), "EST"),
    "Kolkata": timezone(timedelta(hours=5, minutes=30), "IST"),
    "Kathmandu": timezone(timedelta(hours=5, minutes=45)),
    "Auckland": timezone(timedelta(hours=13), "NZDT"),
    "Honolulu": timezone(-timedelta(hours=10)),
}


class HalfHourZone(tzinfo):
    """A toy tzinfo with a fixed offset and a made-up DST rule (April-September)."""

    def __init__(self, base_minutes, name):
        self.base = timedelta(minutes=base_minutes)
        self.name = name

    def dst(self, dt):
        return timedelta(minutes=30) if dt is not None and 4 <= dt.month <= 9 else timedelta(0)

    def utcoffset(self, dt):
        return self.base + self.dst(dt)

    def tzname(self, dt):
        return self.name + ("-S" if self.dst(dt) else "")


def business_days(start, end):
    d, n = start, 0
    while d < end:
        if d.weekday() < 5:
            n += 1
        d += timedelta(days=1)
    return n


def nth_weekday(year, month, weekday, n):
    first = date(year, month, 1)
    shift = (weekday - first.weekday()) % 7
    return first + timedelta(days=shift + 7 * (n - 1))


def main():
    meeting = datetime(2024, 3, 14, 15, 30, tzinfo=UTC)
    print("meeting (UTC):", meeting.isoformat(), "|", meeting.strftime("%A %d %B %Y, %H:%M %Z"))
    for city, tz in OFFICES.items():
        local = meeting.astimezone(tz)
        flag = "" if time(8) <= local.time() <= time(18) else "  (outside office hours)"
        print(f"  {city:<10} {local:%Y-%m-%d %H:%M} {local.strftime('%z'):>6} {str(local.tzname()):<10}"
              f" day {local:%j} week {local:%U}{flag}")

    print("== timedelta arithmetic ==")
    deltas = [timedelta(days=1, hours=25, minutes=61, seconds=3661, microseconds=1500001),
              timedelta(weeks=-1, seconds=1), timedelta(microseconds=-1), timedelta(days=999999999),
              timedelta(hours=36) / 7, timedelta(hours=1) * 2.5, timedelta(days=10) // 3,
              timedelta(days=10) % timedelta(days=3), -timedelta(hours=1, minutes=30)]
    for d in deltas:
        print(f"  {d!s:<32} repr={d!r:<58} total={d.total_seconds()}")
    a, b = timedelta(hours=50), timedelta(minutes=45)
    print("  divmod:", divmod(a, b), " ratio:", a / b, " floor ratio:", a // b)
    print("  abs/neg:", abs(timedelta(days=-3, hours=4)), -timedelta(days=-3, hours=4))
    print("  min/max/resolution:", timedelta.min, timedelta.max, timedelta.resolution)
    try:
        timedelta.max + timedelta(days=1)
    except OverflowError as exc:
        print("  overflow:", exc)

    print("== parsing ==")
    stamps = ["2024-02-29", "2024-02-29T23:59:59", "2024-02-29T23:59:59.123456+05:30",
              "2023-12-31T00:00:00-08:00", "2024-07-04 12:00", "2024-13-01", "2023-02-29",
              "2024-03-10T02:30:00+00:00"]
    for s in stamps:
        try:
            if len(s) == 10:
                v = date.fromisoformat(s)
            else:
                v = datetime.fromisoformat(s)
            print(f"  {s:<34} -> {v!r}")
        except ValueError as exc:
            print(f"  {s:<34} -> ValueError: {exc}")
    print("  time.fromisoformat:", repr(time.fromisoformat("04:23:01.000384")), time(4, 5).isoformat("seconds"))
    dt = datetime(2021, 12, 31, 23, 59, 59, 999999)
    for spec in ("auto", "hours", "minutes", "seconds", "milliseconds", "microseconds"):
        print(f"  isoformat(timespec={spec!r}): {dt.isoformat(sep=' ', timespec=spec)}")
    print("  isocalendar:", tuple(date(2021, 1, 3).isocalendar()), tuple(date(2020, 12, 31).isocalendar()))
    print("  fromisocalendar:", date.fromisocalendar(2020, 53, 5))
    print("  ordinal round trip:", date.fromordinal(date(2000, 1, 1).toordinal() + 10000))
    print("  timestamp of fixed UTC datetime:", datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC).timestamp())
    print("  fromtimestamp(UTC):", datetime.fromtimestamp(1234567890, tz=UTC).isoformat())

    print("== recurring schedule ==")
    start = datetime(2024, 1, 31, 9, 0, tzinfo=OFFICES["Berlin"])
    for i in range(8):
        month = (start.month - 1 + i) % 12 + 1
        year = start.year + (start.month - 1 + i) // 12
        day = min(start.day, calendar.monthrange(year, month)[1])
        occ = start.replace(year=year, month=month, day=day)
        print(f"  #{i + 1} {occ:%a %Y-%m-%d %H:%M %z}  NY {occ.astimezone(OFFICES['New York']):%H:%M}  leap={calendar.isleap(year)}")
    for year in (2023, 2024):
        thanksgiving = nth_weekday(year, 11, calendar.THURSDAY, 4)
        print(f"  Thanksgiving {year}: {thanksgiving} ({thanksgiving:%A})")
    print("  business days in Q1 2024:", business_days(date(2024, 1, 1), date(2024, 4, 1)))
    print("  leap years 1900-2024:", calendar.leapdays(1900, 2025))
    cal = calendar.TextCalendar(firstweekday=calendar.MONDAY)
    print(cal.formatmonth(2024, 2))
    print("  monthcalendar:", calendar.monthcalendar(2024, 2)[0], "weekday(2000,1,1):", calendar.weekday(2000, 1, 1))
    print("  timegm:", calendar.timegm((2024, 2, 29, 12, 0, 0, 0, 0, 0)))

    print("== custom tzinfo ==")
    zone = HalfHourZone(150, "TOY")
    for month in (1, 4, 9, 10):
        d = datetime(2024, month, 15, 12, 0, tzinfo=zone)
        print(f"  {d.isoformat()} name={d.tzname()} dst={d.dst()} utc={d.astimezone(UTC):%H:%M}")
    print("  comparison across zones:", datetime(2024, 1, 1, 12, tzinfo=OFFICES["Berlin"]) ==
          datetime(2024, 1, 1, 6, tzinfo=OFFICES["New York"]))
    naive = datetime(2024, 1, 1, 12)
    try:
        naive < meeting
    except TypeError as exc:
        print("  naive vs aware:", exc)
    print("  combine:", datetime.combine(date(1999, 12, 31), time(23, 59, tzinfo=OFFICES["Kathmandu"])).isoformat())
    print("  replace tz:", meeting.replace(tzinfo=None).isoformat(), meeting.replace(tzinfo=OFFICES["Kolkata"]).isoformat())
    print("  date math:", date(2024, 3, 1) - date(2023, 3, 1), date(2024, 2, 29) + timedelta(days=365))
    print("  repr:", repr(OFFICES["Kolkata"]), repr(OFFICES["Kathmandu"]), repr(UTC))
    print("  str tz:", str(OFFICES["Honolulu"]), str(timezone(timedelta(0))), timezone.min, timezone.max)
    print("  strftime misc:", date(2024, 7, 4).strftime("%d/%m/%y %b %a %w %% [%G-W%V-%u]"))


if __name__ == "__main__":
    main()
