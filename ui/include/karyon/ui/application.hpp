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
  // Organisation, application name and version (QSettings' location, --version); static, so that
  // it can be set before any application object exists (karyon --help needs no display).
  static void setIdentity();
  bool notify(QObject* receiver, QEvent* event) override;
};

}  // namespace karyon::ui
