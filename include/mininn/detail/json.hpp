// mininn: the small part of JSON that saved files use to describe a model: a strict reader
// that names the byte offset of what it refuses, and the writers for strings and exact numbers.
#pragma once

#include "../core/config.hpp"

#include <charconv>
#include <cstddef>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "../core/errors.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

struct json_value {
    enum class kind { null, boolean, number, string, array, object };
    kind type = kind::null;
    bool boolean = false;
    double number = 0;
    std::string text;
    std::vector<json_value> items;                           // an array's
    std::vector<std::pair<std::string, json_value>> members; // an object's, in file order

    // The member named key, or nullptr.
    const json_value* find(const std::string& key) const
    {
        for (const auto& [k, v] : members)
            if (k == key)
                return &v;
        return nullptr;
    }
};

// Parses text as one JSON value. Throws io_error "where: ... at byte k" for anything that is
// not JSON, nests deeper than max_depth, or is followed by more than white space.
class json_reader {
public:
    json_reader(const std::string& text, std::string where) : s_(text), where_(std::move(where)) {}

    json_value parse()
    {
        json_value v = value(0);
        space();
        if (i_ != s_.size())
            fail("unexpected text after the value");
        return v;
    }

private:
    static constexpr int max_depth = 32;

    [[noreturn]] void fail(const char* what) const { throw io_error(cat(where_, ": ", what, " at byte ", i_)); }
    void space()
    {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
            ++i_;
    }
    bool eat(char c)
    {
        space();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void expect(char c, const char* what)
    {
        if (!eat(c))
            fail(what);
    }
    bool word(const char* w)
    {
        const std::size_t n = std::char_traits<char>::length(w);
        if (s_.compare(i_, n, w) != 0)
            return false;
        i_ += n;
        return true;
    }

    json_value value(int depth)
    {
        if (depth > max_depth)
            fail("nesting too deep");
        space();
        if (i_ >= s_.size())
            fail("expected a value");
        json_value v;
        const char c = s_[i_];
        if (c == '{') {
            ++i_;
            v.type = json_value::kind::object;
            if (eat('}'))
                return v;
            do {
                space();
                if (i_ >= s_.size() || s_[i_] != '"')
                    fail("expected a member name");
                std::string key = string();
                expect(':', "expected ':'");
                v.members.emplace_back(std::move(key), value(depth + 1));
            } while (eat(','));
            expect('}', "expected ',' or '}'");
        } else if (c == '[') {
            ++i_;
            v.type = json_value::kind::array;
            if (eat(']'))
                return v;
            do
                v.items.push_back(value(depth + 1));
            while (eat(','));
            expect(']', "expected ',' or ']'");
        } else if (c == '"') {
            v.type = json_value::kind::string;
            v.text = string();
        } else if (word("true")) {
            v.type = json_value::kind::boolean;
            v.boolean = true;
        } else if (word("false")) {
            v.type = json_value::kind::boolean;
        } else if (word("null")) {
        } else {
            v.type = json_value::kind::number;
            v.number = number();
        }
        return v;
    }

    std::string string()
    {
        ++i_; // the opening quote
        std::string out;
        while (true) {
            if (i_ >= s_.size())
                fail("unterminated string");
            const char c = s_[i_++];
            if (c == '"')
                return out;
            if (static_cast<unsigned char>(c) < 0x20)
                fail("control character in a string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size())
                fail("unterminated string");
            switch (s_[i_++]) {
            case '"':
                out += '"';
                break;
            case '\\':
                out += '\\';
                break;
            case '/':
                out += '/';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                unsigned code = 0;
                for (int k = 0; k < 4; ++k, ++i_) {
                    const char h = i_ < s_.size() ? s_[i_] : '\0';
                    const int d = h >= '0' && h <= '9'   ? h - '0'
                                  : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                  : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                         : -1;
                    if (d < 0)
                        fail("bad \\u escape");
                    code = code * 16 + static_cast<unsigned>(d);
                }
                if (code >= 0xD800 && code < 0xE000)
                    fail("surrogate \\u escapes are not supported");
                if (code < 0x80) {
                    out += static_cast<char>(code);
                } else if (code < 0x800) {
                    out += static_cast<char>(0xC0 | (code >> 6));
                    out += static_cast<char>(0x80 | (code & 0x3F));
                } else {
                    out += static_cast<char>(0xE0 | (code >> 12));
                    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
                    out += static_cast<char>(0x80 | (code & 0x3F));
                }
                break;
            }
            default:
                --i_;
                fail("bad escape");
            }
        }
    }

    // JSON's number grammar checked here; from_chars reads the value, locale-free.
    double number()
    {
        const std::size_t start = i_;
        auto digits = [&] {
            const std::size_t from = i_;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9')
                ++i_;
            return i_ - from;
        };
        if (i_ < s_.size() && s_[i_] == '-')
            ++i_;
        const bool zero = i_ < s_.size() && s_[i_] == '0';
        const std::size_t whole = digits();
        if (whole == 0 || (zero && whole > 1))
            fail("expected a value");
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            if (digits() == 0)
                fail("expected digits after '.'");
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-'))
                ++i_;
            if (digits() == 0)
                fail("expected digits in the exponent");
        }
        double v = 0;
        const auto r = std::from_chars(s_.data() + start, s_.data() + i_, v);
        if (r.ec != std::errc() || r.ptr != s_.data() + i_) {
            i_ = start;
            fail("number out of range");
        }
        return v;
    }

    const std::string& s_;
    std::string where_;
    std::size_t i_ = 0;
};

inline json_value json_parse(const std::string& text, const std::string& where)
{
    return json_reader(text, where).parse();
}

// s as a JSON string, quoted and escaped.
inline std::string json_quote(const std::string& s)
{
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            const char* hex = "0123456789abcdef";
            out += "\\u00";
            out += hex[(c >> 4) & 0xF];
            out += hex[c & 0xF];
        } else {
            out += c;
        }
    }
    return out + '"';
}

// The shortest text that reads back as exactly v (v finite).
inline std::string json_number(double v)
{
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
