#pragma once
// Analysis > Model...: asks for the model card, the score threshold and the device detection runs
// with. It only asks; the window applies and remembers the answer.
#include <QDialog>
#include <QString>

class QComboBox;
class QDoubleSpinBox;
class QLineEdit;

namespace karyon::ui {

class ModelDialog : public QDialog {
  Q_OBJECT
 public:
  // modelPath: the one chosen (empty: the default model); scoreThreshold < 0: the model card's;
  // browseFrom: the folder Browse... starts in.
  ModelDialog(const QString& modelPath, double scoreThreshold, const QString& device, const QString& browseFrom,
              QWidget* parent = nullptr);

  QString modelPath() const;      // trimmed; empty: the default model
  double scoreThreshold() const;  // -1: the model card's
  QString device() const;         // "cpu" when left empty

 private:
  QLineEdit* m_path = nullptr;
  QDoubleSpinBox* m_threshold = nullptr;
  QComboBox* m_device = nullptr;
};

}  // namespace karyon::ui
