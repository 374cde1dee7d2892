// Number and text formatting for every report, table and message the project prints: one
// definition of each, so that a number is written the same way wherever it appears. No LibTorch.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vqvae {

/// printf's "%.<significant>g" — what an std::ostream prints by default at that precision
/// ("0.0001744", "1e+30", "4.7") — with "nan" for every NaN and "inf" / "-inf".
std::string format_significant(double value, int significant = 6);

/// Fixed point with `decimals` digits after the point ("12.520", "0.05"); "nan", "inf", "-inf".
std::string format_fixed(double value, int decimals);

/// format_fixed with the sign always written: "+0.89", "-2.18" (a gap in dB, a change).
std::string format_signed_fixed(double value, int decimals);

/// Characters in UTF-8 `text` (a multi-byte character such as "±" counts as one): its width in a
/// column of a text table.
size_t utf8_length(const std::string& text);

/// `text` followed by spaces up to `width` characters (a UTF-8 character such as "±" counts as
/// one), and at least one space: a column of a text table.
std::string padded(const std::string& text, size_t width);

/// A size in bytes with a binary unit, 3 significant digits (whole units from 100 on): "512 B",
/// "1.5 KiB", "14.9 GiB", "715 GiB", "2048 TiB". Zero, negative and NaN sizes print as "0 B".
std::string format_bytes(double bytes);

/// A duration for progress lines: "8 s", "3 min 05 s", "2 h 07 min" (rounded to the unit shown).
std::string format_duration(double seconds);

/// `text` between single quotes for a one-line message, with control characters escaped as in
/// JSON ("\n", "\t", "\u0001"), so that a key or value holding a newline cannot break the line.
std::string in_quotes(std::string_view text);

/// The items with `separator` between them ("a, b, c"); "" for none.
std::string joined(const std::vector<std::string>& items, const std::string& separator = ", ");

/// The items as a sentence lists them: "a", "a and b", "a, b and c"; "" for none.
std::string listed(const std::vector<std::string>& items);

/// `text` cut at each `separator`, empty pieces dropped ("a,,b" -> {"a", "b"}).
std::vector<std::string> split(const std::string& text, char separator);

/// The rows of a CSV text, each a list of its fields: comma-separated, a field in double quotes
/// may hold commas, newlines and "" for a quote; lines end in \n or \r\n; a last line without its
/// newline counts.
std::vector<std::vector<std::string>> csv_rows(const std::string& text);

}  // namespace vqvae
