#pragma once
// QApplication with a last-resort exception guard. Slots and event handlers in ui/ catch their own
// errors and report them properly; this only makes sure that a missed one is logged instead of
// unwinding through Qt's event loop (undefined behaviour, usually a crash).
#include <QApplication>

namespace karyon::ui {

class Application : public QApplication {
  Q_OBJECT
 public:
  Application(int& argc, char** argv);
  bool notify(QObject* receiver, QEvent* event) override;
};

}  // namespace karyon::ui
