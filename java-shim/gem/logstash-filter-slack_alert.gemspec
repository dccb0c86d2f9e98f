# Packs the plugin jar (which carries the native library) the way
# `bin/logstash-plugin install --local` expects a Java filter plugin.
PLUGIN_VERSION = File.read(File.expand_path('VERSION', __dir__)).strip

Gem::Specification.new do |s|
  s.name          = 'logstash-filter-slack_alert'
  s.version       = PLUGIN_VERSION
  s.licenses      = ['Apache-2.0']
  s.summary       = 'Posts ERROR/FATAL log events to Slack, deduplicated and rate-limited, from a Rust engine.'
  s.description   = 'A Logstash filter whose hot path is a Rust library loaded over JNI: level matching, ' \
                    'fingerprint deduplication, rate limiting and a background Slack sender.'
  s.authors       = ['slack_alert developers']
  s.homepage      = 'https://github.com/slack-alert/logstash-filter-slack_alert'
  s.platform      = 'java'
  s.require_paths = ['lib', 'vendor/jar-dependencies']
  s.files         = Dir['lib/**/*', 'vendor/**/*', 'docs/**/*', '*.gemspec', 'VERSION', 'README.md', 'CHANGELOG.md',
                        'LICENSE', 'THIRD-PARTY-NOTICES.md']
  s.metadata      = {
    'logstash_plugin' => 'true',
    'logstash_group'  => 'filter',
    'java_plugin'     => 'true'
  }
  s.add_runtime_dependency 'logstash-core-plugin-api', '>= 1.60', '<= 2.99'
  s.add_runtime_dependency 'jar-dependencies'
end
