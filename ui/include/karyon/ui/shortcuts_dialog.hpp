#pragma once
// Help → Keyboard Shortcuts (F1, ?): every menu action that has a key, read from the menus
// themselves (so the list cannot drift from what the keys do), plus the keys the slide view and
// the drawing tool handle directly (wheel, +/-, arrows, Home, Enter, Backspace, Esc).
#include <QDialog>

class QMenuBar;
class QTableWidget;

namespace karyon::ui {

class ShortcutsDialog : public QDialog {
  Q_OBJECT
 public:
  explicit ShortcutsDialog(const QMenuBar* menus, QWidget* parent = nullptr);
  // (key, what it does) in the order shown.
  QList<QPair<QString, QString>> entries() const { return m_entries; }

 private:
  QList<QPair<QString, QString>> m_entries;
};

}  // namespace karyon::ui
