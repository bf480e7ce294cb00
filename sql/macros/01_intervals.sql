-- DuckDB-only: macros for 95% intervals over the re-aggregable sums the marts hold.
-- Wilson score interval for a share k / n (use for satisfied share, SLA met rate, response rate).
create or replace macro marts.wilson_lower(k, n) as
    case when n > 0 then
        ((k / n) + 1.96 * 1.96 / (2 * n) - 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 * 1.96 / (4 * n * n)))
        / (1 + 1.96 * 1.96 / n)
    end;
create or replace macro marts.wilson_upper(k, n) as
    case when n > 0 then
        ((k / n) + 1.96 * 1.96 / (2 * n) + 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 * 1.96 / (4 * n * n)))
        / (1 + 1.96 * 1.96 / n)
    end;
-- normal interval for a mean from n, sum and sum of squares (use for the mean CSAT score)
create or replace macro marts.mean_half_width(n, s, ss) as
    case when n > 1 then 1.96 * sqrt(greatest((ss - s * s / n) / (n - 1), 0) / n) end;
