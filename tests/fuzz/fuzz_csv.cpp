// libFuzzer harness: load_csv on any bytes. The first byte chooses the options (separator,
// header lines, target kind and columns) and whether the rest is gzip-compressed first.
// Every failure must be an io_error; every success must be self-consistent.
#include <cmath>

#include <mininn/data/csv.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static fuzz::memfile file;
    if (size == 0)
        return 0;
    const std::uint8_t choice = data[0];
    std::vector<std::uint8_t> body(data + 1, data + size);
    if (choice & 1)
        body = fuzz::gzip(body.data(), body.size());
    const std::string& path = file.write(body.data(), body.size());
    mininn::CsvOptions o;
    o.separator = (choice & 2) ? ' ' : ',';
    o.skip_lines = (choice >> 2) & 1;
    o.targets = static_cast<mininn::CsvTargets>(((choice >> 3) & 3) % 3);
    o.target_columns = (choice & 32) ? std::vector<long>{0} : std::vector<long>{-1};
    if ((choice & 64) && o.targets == mininn::CsvTargets::real)
        o.target_columns = {};
    o.max_bytes = std::size_t(1) << 16;
    try {
        const auto d = mininn::load_csv<double>(path, o);
        const std::size_t n = d.X.shape()[1];
        fuzz::require(n > 0, "at least one row");
        fuzz::require(d.Y.shape()[1] == n, "targets for every row");
        fuzz::require(d.X.size() + d.Y.size() + d.labels.size() <= o.max_bytes, "no more cells than the text can hold");
        for (double v : d.X)
            fuzz::require(std::isfinite(v), "finite features");
        if (o.targets == mininn::CsvTargets::real)
            fuzz::require(d.labels.size() == 0 && d.Y.shape()[0] == o.target_columns.size(), "real targets");
        else
            fuzz::require(d.labels.size() == n && d.Y.shape()[0] == 0, "one label per row");
        if (o.targets == mininn::CsvTargets::class_names)
            for (std::size_t v : d.labels)
                fuzz::require(v < d.class_names.size(), "labels index the class names");
    } catch (const mininn::io_error&) {
    }
    return 0;
}
