package rules

// ReadsState reports whether any rule, of these rules or of those run
// alongside, may read the tool's state: a payload with {state: …},
// {tasks: …}, {task_count: …}, {task: …} or {person: …} (which falls back
// to the last user), or "about: open_task". The router sends the messages
// of rules that read none before the state is saved, and so without it.
func (s *Set) ReadsState() bool {
	for _, x := range s.all() {
		for _, r := range x.rules {
			for i := range r.publish {
				if r.publish[i].readsState() {
					return true
				}
			}
		}
	}
	return false
}

func (p *publication) readsState() bool {
	if p.aboutOpenTask {
		return true
	}
	for _, f := range p.payload {
		if readsState(f.v) {
			return true
		}
	}
	return false
}

// readsState reports whether v may read the tool's state. A kind of value
// not named here is taken to read it: one added later errs on the side of
// waiting for the state.
func readsState(v value) bool {
	switch v := v.(type) {
	case literalValue, textValue, fieldValue, timeValue:
		return false
	case withDefault:
		return readsState(v.v) || readsState(v.def)
	case mapped:
		return readsState(v.v)
	case shortened:
		return readsState(v.v)
	default: // stateValue, taskValue, tasksValue, taskCountValue, personValue
		return true
	}
}
