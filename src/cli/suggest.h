#pragma once
// "Did you mean ...?" for a misspelt command or flag.
#include <string>
#include <string_view>
#include <vector>

namespace ram::cli {

// Edits (insertions, deletions, substitutions, swaps of neighbours) that turn `a` into `b`.
int edit_distance(std::string_view a, std::string_view b);

// What `typed` probably meant: the closest candidate within a third of the typed length in edits
// (at least 2; ties go to the one listed first), else every candidate that starts with what was
// typed (a long flag cut short), else nothing.
std::vector<std::string> suggestions(std::string_view typed,
                                     const std::vector<std::string>& candidates);

// "a", "a or b", "a, b or c".
std::string or_list(const std::vector<std::string>& words);

}  // namespace ram::cli
