#include "helpers.hpp"

using namespace mininn;

TEST_CASE("permutation, take_columns and take select the same samples")
{
    Rng rng(138);
    const auto p = permutation(5, rng);
    std::vector<std::size_t> sorted = p;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<std::size_t>{0, 1, 2, 3, 4});
    Rng again(138);
    CHECK(permutation(5, again) == p);

    const matrix<float> X = {{0, 1, 2, 3, 4}, {10, 11, 12, 13, 14}};
    const label_vector y = {0, 1, 2, 3, 4};
    const std::vector<std::size_t> idx = {4, 0, 2};
    CHECK(take_columns(X, idx) == matrix<float>{{4, 0, 2}, {14, 10, 12}});
    CHECK(take(y, idx) == label_vector{4, 0, 2});
    CHECK_MESSAGE_CONTAINS(test::message_of<shape_error>([&] { take_columns(X, {5}); }),
                           "column 5 of a matrix with 5 columns");
    CHECK_THROWS_AS(take(y, {7}), shape_error);
}

TEST_CASE("permute_columns_in_place equals take_columns, with one row of scratch")
{
    Rng rng(5);
    const auto X = test::random_matrix<double>(3, 7, rng);
    const label_vector y = {10, 11, 12, 13, 14, 15, 16};
    const auto p = permutation(7, rng);
    matrix<double> Xp = X;
    label_vector yp = y;
    permute_columns_in_place(Xp, p);
    permute_in_place(yp, p);
    CHECK(Xp == take_columns(X, p));
    CHECK(yp == take(y, p));
    matrix<double> Xs;
    permute_columns_into(X, p, Xs);
    CHECK(Xs == Xp);
    CHECK(test::message_of<shape_error>([&] { permute_columns_in_place(Xp, {0, 1}); }) ==
          "permute_columns_in_place: 2 indices for 7 columns");
    CHECK(test::message_of<shape_error>([&] { permute_columns_in_place(Xp, {0, 1, 2, 3, 4, 5, 9}); }) ==
          "permute_columns_in_place: column 9 of a matrix with 7 columns");
    CHECK(Xp == take_columns(X, p)); // unchanged by the refused calls
    CHECK_THROWS_AS(permute_in_place(yp, {0}), shape_error);
}
