// mininn: reading a table of numbers from a CSV file, raw or gzip-compressed, into samples as
// columns: features [d, n] and targets, real-valued [t, n] or class labels [n].
//
// One row per sample. The file is read whole, up to a size limit, then checked cell by cell:
// every error names the file, the line and the column (1-based), and nothing is allocated
// beyond what the file's own bytes can hold.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../detail/gz_reader.hpp"
#include "../core/errors.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// What the target columns hold.
enum class CsvTargets {
    real,          ///< real numbers: CsvData::Y [t, n]
    class_indices, ///< one column of class indices 0, 1, ...: CsvData::labels [n]
    class_names    ///< one column of class names (any text): CsvData::labels, sorted names -> 0, 1, ...
};

struct CsvOptions {
    char separator = ',';                   ///< ' ' means any run of spaces and tabs
    std::size_t skip_lines = 0;             ///< lines to skip before the data (headers)
    std::vector<long> target_columns{-1};   ///< 0-based; negative counts from the end (-1: the last); empty: none
    CsvTargets targets = CsvTargets::real;  ///< how the target columns are read
    std::size_t max_bytes = std::size_t(1) << 30; ///< a file whose content is larger is refused
};

template <class T>
struct CsvData {
    matrix<T> X;                          ///< features [d, n], in the file's column order ([0, n]: targets alone)
    matrix<T> Y;                          ///< real targets [t, n] (CsvTargets::real), else [0, n]
    label_vector labels;                  ///< class indices [n] (class_indices, class_names), else empty
    std::vector<std::string> class_names; ///< class_names: the name of each index, sorted
};

namespace detail {

// The cells of one line, split at sep (' ': runs of blanks), each trimmed of blanks.
inline void split_cells(std::string_view line, char sep, std::vector<std::string_view>& cells)
{
    cells.clear();
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    auto trim = [&](std::string_view c) {
        while (!c.empty() && blank(c.front()))
            c.remove_prefix(1);
        while (!c.empty() && blank(c.back()))
            c.remove_suffix(1);
        return c;
    };
    if (sep == ' ') {
        std::size_t i = 0;
        while (i < line.size()) {
            while (i < line.size() && blank(line[i]))
                ++i;
            const std::size_t start = i;
            while (i < line.size() && !blank(line[i]))
                ++i;
            if (i > start)
                cells.push_back(line.substr(start, i - start));
        }
        return;
    }
    std::size_t start = 0;
    for (std::size_t i = 0; i <= line.size(); ++i)
        if (i == line.size() || line[i] == sep) {
            cells.push_back(trim(line.substr(start, i - start)));
            start = i + 1;
        }
}

// A cell as an error message quotes it: at most 40 characters of it.
inline std::string quoted(std::string_view cell)
{
    return cat("'", cell.substr(0, 40), cell.size() > 40 ? "..." : "", "'");
}

template <class T>
T parse_number(std::string_view cell, const std::string& where)
{
    if (cell.empty())
        throw io_error(cat(where, ": empty cell"));
    double v = 0;
    const char* first = cell.data() + (cell.front() == '+' ? 1 : 0);
    const auto [end, ec] = std::from_chars(first, cell.data() + cell.size(), v);
    if (ec == std::errc::result_out_of_range)
        throw io_error(cat(where, ": ", quoted(cell), " is out of range"));
    if (ec != std::errc() || end != cell.data() + cell.size())
        throw io_error(cat(where, ": ", quoted(cell), " is not a number"));
    if (!std::isfinite(v) || !std::isfinite(static_cast<T>(v)))
        throw io_error(cat(where, ": ", quoted(cell), " is not a finite number"));
    return static_cast<T>(v);
}

inline std::size_t parse_class_index(std::string_view cell, const std::string& where)
{
    if (cell.empty())
        throw io_error(cat(where, ": empty cell"));
    std::size_t v = 0;
    const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
    if (ec != std::errc() || end != cell.data() + cell.size() || v > (std::size_t(1) << 31))
        throw io_error(cat(where, ": ", quoted(cell), " is not a class index (an integer from 0)"));
    return v;
}

inline std::string read_text(const std::string& path, std::size_t max_bytes)
{
    gz_reader in(path);
    std::string text;
    std::size_t got = 0;
    do {
        // Up to max_bytes + 1 in all, so that a larger file is seen without reading all of it.
        const std::size_t left = max_bytes - text.size(), chunk = std::size_t(1) << 20;
        const std::size_t piece = left >= chunk ? chunk : left + 1;
        text.resize(text.size() + piece);
        got = in.read(&text[text.size() - piece], piece);
        text.resize(text.size() - piece + got);
        if (text.size() > max_bytes)
            throw io_error(cat(path, ": larger than max_bytes (", max_bytes, " bytes)"));
    } while (got > 0);
    return text;
}

} // namespace detail

/// Reads path (raw or .gz) as one sample per line: features X [d, n] and the targets the
/// options name. Throws io_error naming the file, line and column for a file that cannot be
/// read or is larger than max_bytes, no data rows, ragged rows, empty, non-numeric or infinite
/// cells, bad class indices and target columns outside the rows; std::invalid_argument for
/// options that contradict themselves (a repeated target column, class labels from several
/// columns, a separator that is a digit or a line break).
template <class T>
CsvData<T> load_csv(const std::string& path, const CsvOptions& o = {})
{
    using detail::cat;
    const char sep = o.separator;
    if (sep == '\n' || sep == '\r' || (sep >= '0' && sep <= '9') || sep == '.' || sep == '-' || sep == '+')
        throw std::invalid_argument(cat("load_csv: '", sep, "' cannot separate numbers"));
    if (o.targets != CsvTargets::real && o.target_columns.size() != 1)
        throw std::invalid_argument(cat("load_csv: class labels come from one target column, not ",
                                        o.target_columns.size()));
    const std::string text = detail::read_text(path, o.max_bytes);

    std::vector<std::string_view> cells;
    std::vector<bool> is_target;
    std::vector<std::size_t> targets; // resolved target columns, in the order given
    std::vector<T> features, reals;   // row-major [n][d] and [n][t]
    std::vector<std::string> names;   // class names of each row, mapped at the end
    std::vector<std::size_t> indices;
    std::size_t columns = 0, first_line = 0, n = 0, line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos)
            end = text.size();
        std::string_view line(text.data() + pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line_no <= o.skip_lines)
            continue;
        const std::string at = cat(path, ":", line_no);
        if (line.find_first_not_of(" \t") == std::string_view::npos) {
            if (text.find_first_not_of(" \t\r\n", pos) == std::string::npos)
                break; // blank lines at the end
            throw io_error(cat(at, ": empty line"));
        }
        detail::split_cells(line, sep, cells);
        if (columns == 0) {
            columns = cells.size();
            first_line = line_no;
            is_target.assign(columns, false);
            for (long c : o.target_columns) {
                const long r = c < 0 ? static_cast<long>(columns) + c : c;
                if (r < 0 || r >= static_cast<long>(columns))
                    throw io_error(cat(at, ": target column ", c, " is outside the ", columns, " columns of the row"));
                if (is_target[static_cast<std::size_t>(r)])
                    throw std::invalid_argument(cat("load_csv: target column ", r, " is given twice"));
                is_target[static_cast<std::size_t>(r)] = true;
                targets.push_back(static_cast<std::size_t>(r));
            }
        } else if (cells.size() != columns) {
            throw io_error(cat(at, ": ", cells.size(), " columns, but line ", first_line, " has ", columns));
        }
        for (std::size_t c = 0; c < columns; ++c)
            if (!is_target[c])
                features.push_back(detail::parse_number<T>(cells[c], cat(at, ", column ", c + 1)));
        for (std::size_t c : targets) {
            const std::string where = cat(at, ", column ", c + 1);
            if (o.targets == CsvTargets::real)
                reals.push_back(detail::parse_number<T>(cells[c], where));
            else if (o.targets == CsvTargets::class_indices)
                indices.push_back(detail::parse_class_index(cells[c], where));
            else if (cells[c].empty())
                throw io_error(cat(where, ": empty cell"));
            else
                names.emplace_back(cells[c]);
        }
        ++n;
    }
    if (n == 0)
        throw io_error(cat(path, ": no data rows (", line_no, " lines, ", o.skip_lines, " skipped)"));

    const std::size_t d = columns - targets.size(), t = targets.size();
    CsvData<T> out;
    out.X = matrix<T>(typename matrix<T>::shape_type{d, n});
    for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < d; ++i)
            out.X(i, j) = features[j * d + i];
    out.Y = matrix<T>(typename matrix<T>::shape_type{o.targets == CsvTargets::real ? t : 0, n});
    if (o.targets == CsvTargets::real)
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t k = 0; k < t; ++k)
                out.Y(k, j) = reals[j * t + k];
    if (o.targets == CsvTargets::class_indices) {
        out.labels = label_vector(label_vector::shape_type{n});
        std::copy(indices.begin(), indices.end(), out.labels.begin());
    }
    if (o.targets == CsvTargets::class_names) {
        std::map<std::string, std::size_t> index;
        for (const auto& s : names)
            index.emplace(s, 0);
        for (auto& [name, k] : index) {
            k = out.class_names.size();
            out.class_names.push_back(name);
        }
        out.labels = label_vector(label_vector::shape_type{n});
        for (std::size_t j = 0; j < n; ++j)
            out.labels(j) = index[names[j]];
    }
    return out;
}

} // namespace MININN_ISA
} // namespace mininn
