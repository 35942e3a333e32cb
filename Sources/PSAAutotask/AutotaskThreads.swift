import OffboardingCore
import Synchronization

/// Autotask's thread limit: at most `perEndpoint` requests in flight on each endpoint (entity)
/// for one integration code, a bound made for each endpoint the first time it is asked for.
final class AutotaskThreads: Sendable {
    let perEndpoint: Int
    private let endpoints = Mutex<[String: AsyncSemaphore]>([:])

    init(perEndpoint: Int) {
        self.perEndpoint = perEndpoint
    }

    func of(_ endpoint: String) -> AsyncSemaphore {
        endpoints.withLock { endpoints in
            if let threads = endpoints[endpoint] { return threads }
            let threads = AsyncSemaphore(permits: perEndpoint)
            endpoints[endpoint] = threads
            return threads
        }
    }
}
