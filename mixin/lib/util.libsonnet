// Small helpers shared by the alert groups, recording rules and dashboards.
{
  // 0.25 -> "25%", 0.999 -> "99.9%": how thresholds are spelled in annotations.
  percent(fraction)::
    std.format('%g', fraction * 100) + '%',

  // Whole seconds as the largest exact unit: 21600 -> "6h", 90 -> "90s", 2592000 -> "30d".
  humanDuration(seconds)::
    local units = [['d', 86400], ['h', 3600], ['m', 60]];
    local exact = [u for u in units if seconds % u[1] == 0 && seconds >= u[1]];
    if std.length(exact) > 0 then std.toString(seconds / exact[0][1]) + exact[0][0] else std.toString(seconds) + 's',

  // PromQL with the selector placeholders filled: `metric{%(sel)s}` and `metric{%(sel)s, a="b"}`
  // are written in the sources; with an empty selector they must collapse to `metric` and
  // `metric{a="b"}` (an empty `{}` never occurs in real PromQL, so removing it is safe).
  cleanExpr(expr):: std.strReplace(std.strReplace(expr, '{, ', '{'), '{}', ''),
}
