#pragma once
// A bar chart of one postprocess::Histogram (binning is the engine's, this only draws it): bars,
// the value range under the axis and the tallest bar's count. GUI thread only.
#include <QString>
#include <QWidget>

#include "karyon/postprocess/nucleus_statistics.hpp"

namespace karyon::ui {

class HistogramWidget : public QWidget {
  Q_OBJECT
 public:
  explicit HistogramWidget(QWidget* parent = nullptr);
  void setHistogram(postprocess::Histogram histogram, const QString& label);
  const postprocess::Histogram& histogram() const { return m_histogram; }
  QString label() const { return m_label; }
  QSize sizeHint() const override { return {300, 160}; }
  QSize minimumSizeHint() const override { return {160, 100}; }

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  postprocess::Histogram m_histogram;
  QString m_label;
};

}  // namespace karyon::ui
