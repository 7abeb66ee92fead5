#pragma once
// Matrix views used by every layer. Activations are batch-major (one row per image) and
// row-major, so a row of a batch is contiguous and a slice of rows is a batch of its own.
#include <Eigen/Core>

namespace ram {

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MatMap = Eigen::Map<Mat<T>>;
template <typename T>
using ConstMatMap = Eigen::Map<const Mat<T>>;
template <typename T>
using RowVec = Eigen::Matrix<T, 1, Eigen::Dynamic>;
template <typename T>
using RowVecMap = Eigen::Map<RowVec<T>>;
template <typename T>
using ConstRowVecMap = Eigen::Map<const RowVec<T>>;

}  // namespace ram
