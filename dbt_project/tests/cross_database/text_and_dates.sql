-- The engine-specific macros (macros/cross_database.sql) give the same answers on every
-- engine: this test runs in `dbt build` on DuckDB and on Spark with the same inputs, and
-- fails with the rows where a macro's answer is not the expected one.
with text_cases as (
    select * from (
        values
        ('Dvořák', 'dvorak'),
        ('Nguyễn', 'nguyen'),
        ('Ångström', 'angstrom'),
        ('Straße', 'strasse'),
        ('Æsa Øre Łukasz', 'aesa ore lukasz'),
        ('Çelik-Šimić', 'celik-simic'),
        ('MÜLLER', 'muller')
    ) as cases (input, expected)
),

date_cases as (
    select
        input,
        cast(expected as date) as expected
    from (
        values
        ('1985-07-17', '1985-07-17'),
        ('1985-7-17', '1985-07-17'),
        ('1985-07-17 10:00:00', '1985-07-17'),
        ('19850717', '1985-07-17'),
        ('17-07-1985', '1985-07-17'),
        ('17/07/1985', '1985-07-17'),
        ('17.07.1985', '1985-07-17'),
        ('1985/07/17', '1985-07-17'),
        ('7/17/1985', null),
        ('1985', null),
        ('1985-07', null),
        ('1985-02-30', null),
        ('not a date', null),
        ('', null)
    ) as cases (input, expected)
),

moment_cases as (
    select
        unit,
        cast(started_at as timestamp) as started_at,
        cast(ended_at as timestamp) as ended_at,
        expected
    from (
        values
        ('hour', '2026-01-10 09:59:00', '2026-01-10 10:01:00', 1),
        ('hour', '2026-01-10 09:01:00', '2026-01-10 09:59:00', 0),
        ('hour', '2026-01-09 23:30:00', '2026-01-11 00:10:00', 25),
        ('day', '2026-01-10 23:59:00', '2026-01-11 00:01:00', 1),
        ('day', '2026-01-10 00:01:00', '2026-01-10 23:59:00', 0),
        ('day', '2025-12-31 12:00:00', '2026-03-01 12:00:00', 60)
    ) as cases (unit, started_at, ended_at, expected)
),

rounding_cases as (
    select * from (
        values
        (2.675, 2, 2.68),  -- 2.67499... as a double
        (0.125, 2, 0.13),
        (1.005, 2, 1.01),
        (10.0, 2, 10.0),
        (2.5, 0, 3.0),
        (-2.5, 0, -3.0),
        (7.45, 1, 7.5)
    ) as cases (input, digits, expected)
),

failures as (
    select
        'strip_accents_lower' as macro,
        input,
        {{ strip_accents_lower('input') }} as actual,
        expected
    from text_cases
    where {{ strip_accents_lower('input') }} <> expected
    union all
    select
        'parse_date' as macro,
        input,
        cast({{ parse_date('input') }} as {{ dbt.type_string() }}) as actual,
        cast(expected as {{ dbt.type_string() }}) as expected
    from date_cases
    where {{ parse_date('input') }} is distinct from expected
    union all
    select
        'boundaries_between' as macro,
        unit as input,
        cast(
            case
                when unit = 'day' then {{ boundaries_between('day', 'started_at', 'ended_at') }}
                else {{ boundaries_between('hour', 'started_at', 'ended_at') }}
            end as {{ dbt.type_string() }}
        ) as actual,
        cast(expected as {{ dbt.type_string() }}) as expected
    from moment_cases
    where
        case
            when unit = 'day' then {{ boundaries_between('day', 'started_at', 'ended_at') }}
            else {{ boundaries_between('hour', 'started_at', 'ended_at') }}
        end <> expected
    union all
    select
        'round_half_up' as macro,
        cast(input as {{ dbt.type_string() }}) as input,
        cast(
            case
                when digits = 0 then {{ round_half_up('input', 0) }}
                when digits = 1 then {{ round_half_up('input', 1) }}
                else {{ round_half_up('input', 2) }}
            end as {{ dbt.type_string() }}
        ) as actual,
        cast(expected as {{ dbt.type_string() }}) as expected
    from rounding_cases
    where
        case
            when digits = 0 then {{ round_half_up('input', 0) }}
            when digits = 1 then {{ round_half_up('input', 1) }}
            else {{ round_half_up('input', 2) }}
        end <> cast(expected as double)
)

select * from failures
