#include "karyon/ui/model_dialog.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>

#include "karyon/ui/detection_controller.hpp"

namespace karyon::ui {

ModelDialog::ModelDialog(const QString& modelPath, double scoreThreshold, const QString& device,
                         const QString& browseFrom, QWidget* parent)
    : QDialog(parent) {
  setWindowTitle(tr("Detection Model"));
  auto* form = new QFormLayout(this);
  m_path = new QLineEdit(modelPath, this);
  m_path->setPlaceholderText(DetectionController::defaultModelPath().isEmpty()
                                 ? tr("no default model installed")
                                 : tr("default: %1").arg(DetectionController::defaultModelPath()));
  auto* browse = new QPushButton(tr("Browse\u2026"), this);
  connect(browse, &QPushButton::clicked, this, [this, browseFrom] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Model card"), browseFrom, tr("Model cards (*.json)"));
    if (!f.isEmpty()) m_path->setText(f);
  });
  auto* row = new QHBoxLayout;
  row->addWidget(m_path);
  row->addWidget(browse);
  form->addRow(tr("Model card:"), row);
  m_threshold = new QDoubleSpinBox(this);
  m_threshold->setRange(-0.05, 0.99);  // the minimum stands for "the model card's threshold"
  m_threshold->setSingleStep(0.05);
  m_threshold->setSpecialValueText(tr("model card's"));
  m_threshold->setValue(scoreThreshold < 0 ? -0.05 : scoreThreshold);
  form->addRow(tr("Score threshold:"), m_threshold);
  m_device = new QComboBox(this);
  m_device->setEditable(true);
  m_device->addItems({QStringLiteral("cpu"), QStringLiteral("cuda:0"), QStringLiteral("cuda:all")});
  m_device->setCurrentText(device);
  form->addRow(tr("Device:"), m_device);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  form->addRow(buttons);
}

QString ModelDialog::modelPath() const { return m_path->text().trimmed(); }

double ModelDialog::scoreThreshold() const { return m_threshold->value() < 0 ? -1.0 : m_threshold->value(); }

QString ModelDialog::device() const {
  const QString d = m_device->currentText().trimmed();
  return d.isEmpty() ? QStringLiteral("cpu") : d;
}

}  // namespace karyon::ui
