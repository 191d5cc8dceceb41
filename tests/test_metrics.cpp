// Expected texts were produced once by Debian 12's python3-sklearn 1.2.1:
//   sklearn.metrics.classification_report(y_true, y_pred, digits=d)
// and pasted here verbatim.
#include <cstdint>

#include "helpers.hpp"

using namespace mininn;

namespace {
const label_vector a_true = {0, 1, 2, 2, 1, 0, 3, 3, 3, 1};
const label_vector a_pred = {0, 2, 2, 2, 1, 0, 3, 1, 3, 1};
// Class 2 never predicted correctly, class 4 never predicted, class 5 never true.
const label_vector b_true = {0, 0, 1, 1, 4, 4, 2};
const label_vector b_pred = {0, 1, 1, 1, 0, 2, 5};

// 5000 samples over 10 classes from a fixed LCG (the same sequence in the Python that made
// the expected text): about 86 % correct.
std::pair<label_vector, label_vector> lcg_labels()
{
    std::uint64_t x = 12345;
    auto next = [&] {
        x = (x * 1103515245ull + 12345ull) % (1ull << 31);
        return (x >> 16);
    };
    label_vector t = xt::zeros<std::size_t>({5000}), p = xt::zeros<std::size_t>({5000});
    for (std::size_t j = 0; j < 5000; ++j) {
        const std::size_t a = next() % 10, r = next() % 100, b = next() % 10;
        t(j) = a;
        p(j) = r < 80 + a ? a : b;
    }
    return {t, p};
}
} // namespace

TEST_CASE("classification_report matches scikit-learn's text (digits 2 and 4)")
{
    CHECK(classification_report(a_true, a_pred) ==
        "              precision    recall  f1-score   support\n"
        "\n"
        "           0       1.00      1.00      1.00         2\n"
        "           1       0.67      0.67      0.67         3\n"
        "           2       0.67      1.00      0.80         2\n"
        "           3       1.00      0.67      0.80         3\n"
        "\n"
        "    accuracy                           0.80        10\n"
        "   macro avg       0.83      0.83      0.82        10\n"
        "weighted avg       0.83      0.80      0.80        10\n");
    CHECK(classification_report(a_true, a_pred, 4) ==
        "              precision    recall  f1-score   support\n"
        "\n"
        "           0     1.0000    1.0000    1.0000         2\n"
        "           1     0.6667    0.6667    0.6667         3\n"
        "           2     0.6667    1.0000    0.8000         2\n"
        "           3     1.0000    0.6667    0.8000         3\n"
        "\n"
        "    accuracy                         0.8000        10\n"
        "   macro avg     0.8333    0.8333    0.8167        10\n"
        "weighted avg     0.8333    0.8000    0.8000        10\n");
}

TEST_CASE("classification_report matches scikit-learn with absent classes (zero division gives 0)")
{
    CHECK(classification_report(b_true, b_pred) ==
        "              precision    recall  f1-score   support\n"
        "\n"
        "           0       0.50      0.50      0.50         2\n"
        "           1       0.67      1.00      0.80         2\n"
        "           2       0.00      0.00      0.00         1\n"
        "           4       0.00      0.00      0.00         2\n"
        "           5       0.00      0.00      0.00         0\n"
        "\n"
        "    accuracy                           0.43         7\n"
        "   macro avg       0.23      0.30      0.26         7\n"
        "weighted avg       0.33      0.43      0.37         7\n");
}

TEST_CASE("classification_report matches scikit-learn on 5000 samples, 10 classes (digits 2, 4, 7)")
{
    const auto [t, p] = lcg_labels();
    CHECK(classification_report(t, p, 2) ==
        "              precision    recall  f1-score   support\n"
        "\n"
        "           0       0.85      0.85      0.85       484\n"
        "           1       0.88      0.83      0.85       506\n"
        "           2       0.82      0.84      0.83       471\n"
        "           3       0.86      0.84      0.85       489\n"
        "           4       0.85      0.87      0.86       497\n"
        "           5       0.89      0.84      0.86       500\n"
        "           6       0.88      0.86      0.87       542\n"
        "           7       0.87      0.89      0.88       506\n"
        "           8       0.86      0.89      0.87       491\n"
        "           9       0.87      0.90      0.89       514\n"
        "\n"
        "    accuracy                           0.86      5000\n"
        "   macro avg       0.86      0.86      0.86      5000\n"
        "weighted avg       0.86      0.86      0.86      5000\n");
    CHECK(classification_report(t, p, 4) ==
        "              precision    recall  f1-score   support\n"
        "\n"
        "           0     0.8457    0.8492    0.8474       484\n"
        "           1     0.8750    0.8300    0.8519       506\n"
        "           2     0.8233    0.8408    0.8319       471\n"
        "           3     0.8632    0.8384    0.8506       489\n"
        "           4     0.8487    0.8692    0.8588       497\n"
        "           5     0.8858    0.8380    0.8613       500\n"
        "           6     0.8776    0.8598    0.8686       542\n"
        "           7     0.8673    0.8913    0.8791       506\n"
        "           8     0.8552    0.8900    0.8723       491\n"
        "           9     0.8689    0.9027    0.8855       514\n"
        "\n"
        "    accuracy                         0.8612      5000\n"
        "   macro avg     0.8611    0.8609    0.8607      5000\n"
        "weighted avg     0.8615    0.8612    0.8611      5000\n");
    CHECK(classification_report(t, p, 7) ==
        "              precision    recall  f1-score   support\n"
        "\n"
        "           0  0.8456790 0.8491736 0.8474227       484\n"
        "           1  0.8750000 0.8300395 0.8519270       506\n"
        "           2  0.8232848 0.8407643 0.8319328       471\n"
        "           3  0.8631579 0.8384458 0.8506224       489\n"
        "           4  0.8487230 0.8692153 0.8588469       497\n"
        "           5  0.8858351 0.8380000 0.8612539       500\n"
        "           6  0.8775895 0.8597786 0.8685927       542\n"
        "           7  0.8673077 0.8913043 0.8791423       506\n"
        "           8  0.8551859 0.8900204 0.8722555       491\n"
        "           9  0.8689139 0.9027237 0.8854962       514\n"
        "\n"
        "    accuracy                      0.8612000      5000\n"
        "   macro avg  0.8610677 0.8609466 0.8607492      5000\n"
        "weighted avg  0.8615344 0.8612000 0.8611084      5000\n");
}

TEST_CASE("confusion_matrix has true labels as rows, over the classes present")
{
    CHECK(confusion_matrix(a_true, a_pred) ==
          xt::xtensor<std::size_t, 2>{{2, 0, 0, 0}, {0, 2, 1, 0}, {0, 0, 2, 0}, {0, 1, 0, 2}});
    CHECK(confusion_matrix(b_true, b_pred) ==
          xt::xtensor<std::size_t, 2>{{1, 1, 0, 0, 0}, {0, 2, 0, 0, 0}, {0, 0, 0, 0, 1}, {1, 0, 1, 0, 0}, {0, 0, 0, 0, 0}});
    // swapping the arguments transposes it: the seed's confusion_matrix(predictions, labels) mistake
    CHECK(confusion_matrix(a_pred, a_true) == xt::transpose(confusion_matrix(a_true, a_pred)));
}

TEST_CASE("accuracy, target names and errors")
{
    CHECK(accuracy(a_true, a_pred) == 0.8);
    CHECK(accuracy(b_true, b_pred) == doctest::Approx(3.0 / 7));
    const std::string named = classification_report(a_true, a_pred, 2, {"zero", "one", "two", "three"});
    CHECK_MESSAGE_CONTAINS(named, "        zero       1.00      1.00      1.00         2\n");
    auto msg = test::message_of<shape_error>([] { accuracy(label_vector{1, 2}, label_vector{1}); });
    CHECK(msg == "accuracy: 2 true labels but 1 predictions");
    msg = test::message_of<shape_error>([] { classification_report(a_true, a_pred, 2, {"x"}); });
    CHECK(msg == "classification_report: 1 target names for 4 classes");
    CHECK_THROWS_AS(confusion_matrix(label_vector{}, label_vector{}), shape_error);
}

TEST_CASE("regression metrics match scikit-learn's documented examples")
{
    // sklearn.metrics docs: y_true [3, -0.5, 2, 7], y_pred [2.5, 0.0, 2, 8]
    const matrix<double> t = {{3, -0.5, 2, 7}}, p = {{2.5, 0.0, 2, 8}};
    CHECK(mean_squared_error(t, p) == doctest::Approx(0.375).epsilon(1e-15));
    CHECK(mean_absolute_error(t, p) == doctest::Approx(0.5).epsilon(1e-15));
    CHECK(r2_score(t, p) == doctest::Approx(0.9486081370449679).epsilon(1e-14));
    // two outputs (samples are columns): y_true [[0.5, 1], [-1, 1], [7, -6]], y_pred [[0, 2], [-1, 2], [8, -5]]
    const matrix<double> t2 = {{0.5, -1, 7}, {1, 1, -6}}, p2 = {{0, -1, 8}, {2, 2, -5}};
    CHECK(mean_squared_error(t2, p2) == doctest::Approx(0.7083333333333334).epsilon(1e-14));
    CHECK(mean_absolute_error(t2, p2) == doctest::Approx(0.75).epsilon(1e-14));
    CHECK(r2_score(t2, p2) == doctest::Approx(0.9368005266622779).epsilon(1e-14)); // uniform average
    // constant true values: 1 when predicted exactly, else 0 (sklearn's convention)
    CHECK(r2_score(matrix<double>{{2, 2}}, matrix<double>{{2, 2}}) == 1.0);
    CHECK(r2_score(matrix<double>{{2, 2}}, matrix<double>{{2, 3}}) == 0.0);
    const auto msg = test::message_of<shape_error>([&] { r2_score(t, t2); });
    CHECK(msg == "r2_score: true values [1, 4] but predictions [2, 3] (expected [outputs, samples])");
}
