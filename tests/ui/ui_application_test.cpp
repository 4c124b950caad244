// karyon::ui::Application's last-resort guard: an exception thrown by an event handler that forgot
// to catch it is logged, and the event loop carries on (without the guard: std::terminate).
#include <QtTest>
#include <stdexcept>

#include "karyon/core/errors.hpp"
#include "karyon/ui/application.hpp"

namespace {

class ThrowingObject : public QObject {
 public:
  int handled = 0;
  bool event(QEvent* e) override {
    if (e->type() == QEvent::User) {
      ++handled;
      throw karyon::core::SlideError("test.svs: simulated read failure");
    }
    return QObject::event(e);
  }
};

}  // namespace

class ApplicationTest : public QObject {
  Q_OBJECT
 private slots:
  void exception_from_event_handler_is_logged_not_fatal() {
    ThrowingObject obj;
    QTest::ignoreMessage(QtCriticalMsg, QRegularExpression(QStringLiteral("simulated read failure")));
    QEvent direct(QEvent::User);
    QVERIFY(!QCoreApplication::sendEvent(&obj, &direct));
    QCOMPARE(obj.handled, 1);
    // A posted event goes through the event loop: the loop must survive and keep running.
    QTest::ignoreMessage(QtCriticalMsg, QRegularExpression(QStringLiteral("simulated read failure")));
    QCoreApplication::postEvent(&obj, new QEvent(QEvent::User));
    bool later = false;
    QTimer::singleShot(0, [&] { later = true; });
    QTRY_VERIFY(later && obj.handled == 2);
  }
};

int main(int argc, char** argv) {
  karyon::ui::Application app(argc, argv);
  ApplicationTest test;
  return QTest::qExec(&test, argc, argv);
}
#include "ui_application_test.moc"
