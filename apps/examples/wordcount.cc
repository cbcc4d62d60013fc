// percore-wordcount: counts the words of a file on every shard, then merges the counts.
//
// Shard 0 reads the file through io_uring in 256 KiB chunks (cut at whitespace) and hands chunk i to shard
// i % N, where a `sharded<word_counter>` instance counts it. `map_reduce` then brings every shard's table back
// and merges them. Shows sharded<T>, invoke_on, map_reduce and the engine's command line:
//
//   scripts/run wordcount README.md --top 5 --shards 2
//   build/release/apps/examples/percore-wordcount --print-topology FILE
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <system_error>
#include <unistd.h>
#include <unordered_map>
#include <vector>

#include "runtime/io.hh"
#include "shard/app.hh"
#include "shard/sharded.hh"

namespace {

using table = std::unordered_map<std::string, std::uint64_t>;

/// One per shard: counts the words of the chunks it is given.
class word_counter {
public:
    void count(const std::string& text) {
        std::string word;
        for (char c : text) {
            if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
                word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
            } else if (!word.empty()) {
                ++_counts[word];
                word.clear();
            }
        }
        if (!word.empty()) {
            ++_counts[word];
        }
    }
    const table& counts() const noexcept { return _counts; }

private:
    table _counts;
};

percore::task<int> count_words(std::string path, std::size_t top) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        std::fprintf(stderr, "percore-wordcount: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
        co_return 1;
    }
    percore::sharded<word_counter> counters;
    co_await counters.start();

    std::vector<char> buffer(256 * 1024);
    std::string carry; // a word cut by the chunk boundary waits for the next chunk
    std::uint64_t offset = 0;
    unsigned next_shard = 0;
    for (;;) {
        const int n = co_await percore::io::read(fd, buffer.data(), static_cast<unsigned>(buffer.size()), offset);
        if (n < 0) {
            ::close(fd);
            throw std::system_error(-n, std::system_category(), "read " + path);
        }
        if (n == 0) {
            break;
        }
        offset += static_cast<std::uint64_t>(n);
        std::string chunk = std::move(carry);
        chunk.append(buffer.data(), static_cast<std::size_t>(n));
        const auto cut = chunk.find_last_of(" \t\r\n");
        carry = cut == std::string::npos ? std::move(chunk) : chunk.substr(cut + 1);
        if (cut != std::string::npos) {
            chunk.resize(cut);
            auto work = [text = std::move(chunk)](word_counter& c) { c.count(text); }; // named: docs/compilers.md
            co_await counters.invoke_on(next_shard, std::move(work));
            next_shard = (next_shard + 1) % percore::shard_count();
        }
    }
    ::close(fd);
    auto last = [text = std::move(carry)](word_counter& c) { c.count(text); };
    co_await counters.invoke_on(next_shard, std::move(last));

    table merged = co_await counters.map_reduce([](word_counter& c) { return c.counts(); },
                                                [](table acc, table part) {
                                                    for (auto& [word, n] : part) {
                                                        acc[word] += n;
                                                    }
                                                    return acc;
                                                },
                                                table());
    co_await counters.stop();

    std::uint64_t total = 0;
    std::vector<std::pair<std::string, std::uint64_t>> ranked(merged.begin(), merged.end());
    for (const auto& [word, n] : ranked) {
        total += n;
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::printf("%llu words, %zu distinct, counted on %u shards\n", static_cast<unsigned long long>(total),
                ranked.size(), percore::shard_count());
    for (std::size_t i = 0; i < std::min(top, ranked.size()); ++i) {
        std::printf("%8llu  %s\n", static_cast<unsigned long long>(ranked[i].second), ranked[i].first.c_str());
    }
    co_return 0;
}

} // namespace

int main(int argc, char** argv) {
    percore::app app("percore-wordcount", "Counts the words of a file on every shard");
    std::string path;
    std::size_t top = 10;
    app.cli().add_option("file", path, "text file to count")->required();
    app.cli().add_option("--top", top, "how many of the most frequent words to print");
    return app.run(argc, argv, [&] { return count_words(path, top); });
}
