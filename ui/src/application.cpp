#include "karyon/ui/application.hpp"

#include <QDebug>
#include <exception>

namespace karyon::ui {

Application::Application(int& argc, char** argv) : QApplication(argc, argv) {
  setOrganizationName(QStringLiteral("Karyon"));
  setApplicationName(QStringLiteral("karyon"));
  setApplicationVersion(QStringLiteral("0.1.0"));
}

bool Application::notify(QObject* receiver, QEvent* event) {
  try {
    return QApplication::notify(receiver, event);
  } catch (const std::exception& e) {
    qCritical().noquote() << "uncaught exception in event handler of"
                          << (receiver ? receiver->metaObject()->className() : "?") << ":" << e.what();
  } catch (...) {
    qCritical() << "uncaught unknown exception in an event handler";
  }
  return false;
}

}  // namespace karyon::ui
