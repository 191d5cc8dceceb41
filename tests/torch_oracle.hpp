// The PyTorch oracle cases of tests/data/torch/layers.txt (written by gen_layers.py there): each
// case's settings and tensors, in mininn's layout (samples are columns).
#pragma once

#include <cmath>
#include <cstdlib>
#include <cstddef>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "helpers.hpp"

namespace test {

struct OracleTensor {
    std::size_t rows = 0, cols = 0;
    std::vector<double> values;
};

struct OracleCase {
    std::string name, dtype; ///< dtype: "float" or "double", the type PyTorch computed in
    std::map<std::string, double> attrs;
    std::map<std::string, OracleTensor> tensors;

    std::size_t attr(const std::string& key) const { return static_cast<std::size_t>(attrs.at(key)); }
    double real(const std::string& key) const { return attrs.at(key); }
    bool has(const std::string& tensor) const { return tensors.count(tensor) != 0; }
    template <class T>
    mininn::matrix<T> matrix(const std::string& key) const
    {
        const OracleTensor& t = tensors.at(key);
        mininn::matrix<T> m = xt::zeros<T>({t.rows, t.cols});
        for (std::size_t e = 0; e < t.values.size(); ++e)
            m.data()[e] = static_cast<T>(t.values[e]);
        return m;
    }
    template <class T>
    mininn::vector<T> vector(const std::string& key) const
    {
        const OracleTensor& t = tensors.at(key);
        mininn::vector<T> v = xt::zeros<T>({t.values.size()});
        for (std::size_t e = 0; e < t.values.size(); ++e)
            v(e) = static_cast<T>(t.values[e]);
        return v;
    }
};

/// The cases of tests/data/torch/layers.txt whose name starts with prefix.
inline std::vector<OracleCase> oracle_cases(const std::string& prefix)
{
    const std::string path = std::string(MININN_TEST_DIR) + "/data/torch/layers.txt";
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot open " + path);
    std::vector<OracleCase> cases;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream s(line);
        std::string word;
        s >> word;
        if (word == "case") {
            cases.emplace_back();
            s >> cases.back().name >> cases.back().dtype;
        } else if (word == "attr") {
            std::string key;
            std::string v;
            s >> key >> v;
            cases.back().attrs[key] = std::strtod(v.c_str(), nullptr);
        } else if (word == "tensor") {
            std::string key;
            OracleTensor t;
            s >> key >> t.rows >> t.cols;
            t.values.reserve(t.rows * t.cols);
            std::string v;
            while (s >> v)
                t.values.push_back(std::strtod(v.c_str(), nullptr));
            if (t.values.size() != t.rows * t.cols)
                throw std::runtime_error(path + ": tensor " + key + " of case " + cases.back().name + " is truncated");
            cases.back().tensors[key] = std::move(t);
        }
    }
    std::vector<OracleCase> picked;
    for (auto& c : cases)
        if (c.name.rfind(prefix, 0) == 0)
            picked.push_back(std::move(c));
    if (picked.empty())
        throw std::runtime_error(path + ": no case named " + prefix + "...");
    return picked;
}

/// max |a - b| / max |b|: the error relative to the oracle's scale.
template <class A, class B>
double relative_error(const A& a, const B& b)
{
    double diff = 0, scale = 0;
    for (std::size_t e = 0; e < b.size(); ++e) {
        diff = std::max(diff, std::abs(double(a.data()[e]) - double(b.data()[e])));
        scale = std::max(scale, std::abs(double(b.data()[e])));
    }
    return scale == 0 ? diff : diff / scale;
}

} // namespace test
