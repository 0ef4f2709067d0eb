//! Naming the allowed choices and suggesting the closest one for a misspelling.

/// Suggestions are offered only for names at most this many single-character edits away,
/// and only when fewer than half the characters differ (so `x` does not suggest `a`).
const MAX_DISTANCE: usize = 2;

/// `one of: a, b, c` (or `nothing` for an empty list).
pub(crate) fn one_of(choices: &[&str]) -> String {
    if choices.is_empty() {
        "nothing".to_owned()
    } else {
        format!("one of: {}", choices.join(", "))
    }
}

/// ``did you mean `x`?`` for the closest choice close enough to `input` (see [`MAX_DISTANCE`]).
///
/// Public so that other validators (the chaos scenario checker) suggest names by the same rule.
///
/// ```
/// let hint = config_yaml::did_you_mean("upstrem", ["routes", "upstream"]);
/// assert_eq!(hint.as_deref(), Some("did you mean `upstream`?"));
/// ```
pub fn did_you_mean<'n>(input: &str, choices: impl IntoIterator<Item = &'n str>) -> Option<String> {
    let input_len = input.chars().count();
    choices
        .into_iter()
        .map(|choice| (edit_distance(input, choice), choice))
        .filter(|(distance, choice)| {
            let longer = input_len.max(choice.chars().count());
            *distance <= MAX_DISTANCE && 2 * distance < longer
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, choice)| format!("did you mean `{choice}`?"))
}

/// Levenshtein distance, counted in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("timeout", "timeout"), 0);
        assert_eq!(edit_distance("tiemout", "timeout"), 2);
        assert_eq!(edit_distance("upstrem", "upstream"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn did_you_mean_picks_closest_within_two_edits() {
        let fields = ["name", "match", "upstream", "timeout"];
        assert_eq!(
            did_you_mean("tiemout", fields).as_deref(),
            Some("did you mean `timeout`?")
        );
        assert_eq!(did_you_mean("retries", fields), None);
        assert_eq!(did_you_mean("x", ["a", "b"]), None);
        assert_eq!(did_you_mean("PUTT", ["GET", "POST"]), None);
    }

    #[test]
    fn one_of_lists_choices_or_nothing() {
        assert_eq!(one_of(&["a", "b"]), "one of: a, b");
        assert_eq!(one_of(&[]), "nothing");
    }
}
