# Puts the plugin jar on Logstash's class path.
require 'jar_dependencies'
require_jar('io.slackalert', 'logstash-filter-slack_alert', File.read(File.expand_path('../VERSION', __dir__)).strip)
