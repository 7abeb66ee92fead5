#pragma once
// Matrix views used by every layer. Activations are batch-major (one row per image) and
// row-major, so a row of a batch is contiguous and a slice of rows is a batch of its own.
#include <Eigen/Core>
#include <cstddef>

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

// One [rows x cols] matrix per time step, the steps stacked in one buffer (step 0's rows first).
// A step is a batch of its own ([t]); a run of steps is one batch of count x rows rows
// (steps(first, count)), which lets the backward pass form the weight gradients of every step
// in one product instead of one small product per step.
template <typename T>
class StepMatrices {
 public:
  void resize(int steps, int rows, int cols) {
    steps_ = steps;
    rows_ = rows;
    data_.resize(static_cast<Eigen::Index>(steps) * rows, cols);
  }
  std::size_t size() const { return static_cast<std::size_t>(steps_); }
  int rows() const { return rows_; }

  MatMap<T> operator[](std::size_t t) { return steps(static_cast<int>(t), 1); }
  ConstMatMap<T> operator[](std::size_t t) const { return steps(static_cast<int>(t), 1); }
  // Steps first .. first + count - 1 as one [count*rows x cols] matrix.
  MatMap<T> steps(int first, int count) {
    return MatMap<T>(data_.data() + offset(first), static_cast<Eigen::Index>(count) * rows_,
                     data_.cols());
  }
  ConstMatMap<T> steps(int first, int count) const {
    return ConstMatMap<T>(data_.data() + offset(first), static_cast<Eigen::Index>(count) * rows_,
                          data_.cols());
  }

 private:
  std::size_t offset(int first) const {
    return static_cast<std::size_t>(first) * static_cast<std::size_t>(rows_) *
           static_cast<std::size_t>(data_.cols());
  }
  int steps_ = 0, rows_ = 0;
  Mat<T> data_;
};

}  // namespace ram
