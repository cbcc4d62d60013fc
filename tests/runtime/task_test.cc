#include <stdexcept>
#include <string>

#include "tests/support/counted.hh"
#include "tests/support/test_runtime.hh"

using namespace percore;
using percore::test::counted;

namespace {

task<int> answer() {
    co_return 42;
}
task<int> add_answer(int x) {
    co_return x + co_await answer();
}
task<> fail() {
    throw std::runtime_error("boom");
    co_return;
}
task<int&> ref_to(int& x) {
    co_return x;
}
task<counted> make_counted(int id) {
    co_return counted(id);
}

// Symmetric transfer must be a tail call, or this overflows the stack. clang guarantees it at every optimization
// level, sanitizers included (GCC only when optimizing without sanitizers: docs/compilers.md).
constexpr int deep_awaits = 1'000'000;

task<int> count_down(int n) {
    int sum = 0;
    for (int i = 0; i < n; ++i) {
        sum += co_await answer();
    }
    co_return sum;
}

} // namespace

TEST_SUITE("runtime/task") {
    TEST_CASE("task does not start until awaited") {
        bool started = false;
        auto body = [&]() -> task<> {
            started = true;
            co_return;
        };
        {
            task<> t = body();
            CHECK_FALSE(started);
            CHECK(t.valid());
            CHECK_FALSE(t.done());
        } // destroyed without running: frame freed, body never ran
        CHECK_FALSE(started);
    }

    RUNTIME_TEST_CASE("task result reaches the awaiter") {
        CHECK(co_await add_answer(1) == 43);
    }

    RUNTIME_TEST_CASE("exceptions reach the awaiter") {
        bool caught = false;
        try {
            co_await fail();
        } catch (const std::runtime_error& e) {
            caught = std::string(e.what()) == "boom";
        }
        CHECK(caught);
    }

    RUNTIME_TEST_CASE("a task returning a reference yields the same object") {
        int x = 5;
        int& r = co_await ref_to(x);
        CHECK(&r == &x);
    }

    RUNTIME_TEST_CASE("results are moved, not copied, out of the frame") {
        counted::reset();
        {
            counted c = co_await make_counted(7);
            CHECK(c.id == 7);
        }
        CHECK(counted::copies == 0);
        CHECK(counted::alive() == 0);
    }

    RUNTIME_TEST_CASE("an lvalue task can be awaited and its result read by reference") {
        task<int> t = answer();
        int& v = co_await t;
        CHECK(v == 42);
        CHECK(t.done());
    }

    RUNTIME_TEST_CASE("a million synchronous awaits do not grow the stack (symmetric transfer)") {
        CHECK(co_await count_down(deep_awaits) == 42 * deep_awaits);
    }

    TEST_CASE("sync_wait rethrows the main task's exception") {
        CHECK_THROWS_AS(sync_wait(fail()), std::runtime_error);
    }

    TEST_CASE("task move assignment destroys the previous frame") {
        counted::reset();
        auto holder = [](counted c) -> task<int> { co_return c.id; };
        task<int> a = holder(counted(1));
        task<int> b = holder(counted(2));
        a = std::move(b);
        CHECK_FALSE(b.valid());
        CHECK(sync_wait(std::move(a)) == 2);
        CHECK(counted::alive() == 0);
    }
}
