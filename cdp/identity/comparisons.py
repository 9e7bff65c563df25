"""Splink settings generated from the identity configuration, with the trained parameters.

Each comparison kind of `cdp.identity.config` becomes a list of Splink comparison levels
(built with Splink's own level library, so the SQL is written for the engine in use);
the trained model JSON contributes only numbers: each level's m and u, found by the
comparison's name and the level's label, and the prior match probability. A level the
model does not know (a comparison added since training) keeps Splink's default m and u.
"""

from __future__ import annotations

from typing import Any

from cdp.identity.config import Comparison, IdentityConfig

SWAPPED_LABEL = "Day and month swapped"
HOME_NULL_LABEL = "Address and postcode missing"


def _name_levels(comparison: Comparison) -> list:
    import splink.comparison_level_library as cll

    column = comparison.name
    levels = [cll.NullLevel(column), cll.ExactMatchLevel(column, term_frequency_adjustments=comparison.term_frequency)]
    if comparison.nicknames:
        levels.append(
            cll.ArrayIntersectLevel(f"{column}_forms", 1).configure(label_for_charts="Nickname of each other")
        )
    if comparison.reversed_with:
        # one level for both names of the pair (same label, so one trained value for both)
        levels.append(cll.ColumnsReversedLevel(*sorted((column, comparison.reversed_with))))
    return [*levels, cll.JaroWinklerLevel(column, 0.92), cll.JaroWinklerLevel(column, 0.8), cll.ElseLevel()]


def _date_levels(comparison: Comparison) -> list:
    import splink.comparison_level_library as cll

    column = comparison.name
    left, right = f'"{column}_l"', f'"{column}_r"'
    # dates are ISO text (YYYY-MM-DD): same year, day and month exchanged
    swapped = (
        f"substr({left}, 1, 4) = substr({right}, 1, 4) and substr({left}, 6, 2) = substr({right}, 9, 2)"
        f" and substr({left}, 9, 2) = substr({right}, 6, 2)"
    )
    return [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column),
        cll.CustomLevel(swapped, label_for_charts=SWAPPED_LABEL),
        cll.DamerauLevenshteinLevel(column, 1),
        cll.ElseLevel(),
    ]


def _address_levels(comparison: Comparison) -> list:
    import splink.comparison_level_library as cll

    fields = comparison.fields or {"address": "address", "postcode": "postcode", "city": "city"}
    address, postcode, city = fields.get("address"), fields.get("postcode"), fields.get("city")
    present = [f"({column}_l is null or {column}_r is null)" for column in (address, postcode) if column]
    levels = [cll.CustomLevel(" and ".join(present), label_for_charts=HOME_NULL_LABEL).configure(is_null_level=True)]
    if address and postcode:
        levels.append(cll.And(cll.ExactMatchLevel(address), cll.ExactMatchLevel(postcode)))
    if postcode:
        levels.append(cll.ExactMatchLevel(postcode))
    if address and city:
        levels.append(cll.And(cll.JaroWinklerLevel(address, 0.9), cll.ExactMatchLevel(city)))
    elif address:
        levels.append(cll.JaroWinklerLevel(address, 0.9))
    if city:
        levels.append(cll.ExactMatchLevel(city))
    return [*levels, cll.ElseLevel()]


def _typo_levels(comparison: Comparison, edits: tuple[int, ...]) -> list:
    import splink.comparison_level_library as cll

    column = comparison.name
    return [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column, term_frequency_adjustments=comparison.term_frequency),
        *(cll.DamerauLevenshteinLevel(column, distance) for distance in edits),
        cll.ElseLevel(),
    ]


def _text_levels(comparison: Comparison) -> list:
    import splink.comparison_level_library as cll

    column = comparison.name
    return [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column, term_frequency_adjustments=comparison.term_frequency),
        cll.JaroWinklerLevel(column, 0.9),
        cll.JaroWinklerLevel(column, 0.7),
        cll.ElseLevel(),
    ]


def _exact_levels(comparison: Comparison) -> list:
    return _typo_levels(comparison, ())


LEVELS_BY_KIND = {
    "name": _name_levels,
    "date": _date_levels,
    "address": _address_levels,
    "postcode": lambda c: _typo_levels(c, (1,)),
    "id_number": lambda c: _typo_levels(c, (1, 2)),
    "email": _exact_levels,
    "phone": _exact_levels,
    "exact": _exact_levels,
    "text": _text_levels,
}


def splink_comparisons(config: IdentityConfig) -> list:
    import splink.comparison_library as cl

    return [
        cl.CustomComparison(LEVELS_BY_KIND[comparison.kind](comparison), output_column_name=comparison.name)
        for comparison in config.comparisons
    ]


def blocking_rules(config: IdentityConfig, skip: tuple[str, ...] = ()) -> list:
    """Splink blocking rules of the configuration, without single-field rules on `skip`."""
    from splink import block_on

    rules = []
    for rule in config.blocking_rules:
        if isinstance(rule, str):
            rules.append(rule)
        elif not (len(rule) == 1 and rule[0] in skip):
            rules.append(block_on(*rule))
    return rules


def settings_creator(config: IdentityConfig, *, skip_blocking_on: tuple[str, ...] = ()):
    """The model's shape, untrained, for any engine."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=splink_comparisons(config),
        blocking_rules_to_generate_predictions=blocking_rules(config, skip_blocking_on),
        retain_intermediate_calculation_columns=True,  # explanations read each comparison's weight
    )


def trained_settings(
    config: IdentityConfig, model: dict[str, Any] | None, dialect: str, *, skip_blocking_on: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Settings for `dialect` from the configuration, with the model's m and u where it has them."""
    settings = settings_creator(config, skip_blocking_on=skip_blocking_on).create_settings_dict(dialect)
    if not model:
        return settings
    trained = {
        (comparison["output_column_name"], level.get("label_for_charts")): level
        for comparison in model.get("comparisons", [])
        for level in comparison["comparison_levels"]
    }
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            known = trained.get((comparison["output_column_name"], level.get("label_for_charts")), {})
            for parameter in ("m_probability", "u_probability"):
                if known.get(parameter) is not None and not level.get("is_null_level"):
                    level[parameter] = known[parameter]
    if model.get("probability_two_random_records_match"):
        settings["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    return settings


def level_labels(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """(comparison, label) of every non-null level, in order."""
    return [
        (comparison["output_column_name"], level.get("label_for_charts", level["sql_condition"]))
        for comparison in settings["comparisons"]
        for level in comparison["comparison_levels"]
        if not level.get("is_null_level")
    ]
